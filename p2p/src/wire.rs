//! What the hand-written wire formats of Cairn's own protocols share: a bounded reader over a
//! message's bytes, the length-prefix writer, and the decoding error. Every read checks the
//! length before taking, so a lying length prefix fails cleanly instead of allocating.

/// Why bytes are not a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// Too short, too long, or a field out of bounds.
    #[error("malformed message: {0}")]
    Malformed(&'static str),
    /// An unknown tag.
    #[error("unknown message tag {0}")]
    UnknownTag(u8),
}

/// Reads fields off the front of a message.
pub(crate) struct Reader<'a>(pub(crate) &'a [u8]);

impl<'a> Reader<'a> {
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], MessageError> {
        if self.0.len() < n {
            return Err(MessageError::Malformed("truncated"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, MessageError> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn u32(&mut self) -> Result<u32, MessageError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, MessageError> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }

    pub(crate) fn array32(&mut self) -> Result<[u8; 32], MessageError> {
        Ok(self.take(32)?.try_into().expect("32 bytes"))
    }

    pub(crate) fn bool(&mut self) -> Result<bool, MessageError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(MessageError::Malformed("bad boolean")),
        }
    }

    /// A u32-length-prefixed byte string of at most `max` bytes.
    pub(crate) fn bytes(&mut self, max: usize) -> Result<&'a [u8], MessageError> {
        let n = self.count(max)?;
        self.take(n)
    }

    /// A u32 count of at most `max`.
    pub(crate) fn count(&mut self, max: usize) -> Result<usize, MessageError> {
        let n = self.u32()? as usize;
        if n > max {
            return Err(MessageError::Malformed("length out of bounds"));
        }
        Ok(n)
    }

    /// Succeeds only if every byte was read.
    pub(crate) fn end(self) -> Result<(), MessageError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(MessageError::Malformed("trailing bytes"))
        }
    }
}

/// Writes `b` with a u32 length prefix.
pub(crate) fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}
