// A js-libp2p 3.x node configured with Cairn's protocol and topic names. It dials a Cairn node,
// subscribes to the blocks topic, runs a Kademlia query through it, and waits for a block to
// arrive by gossip. Progress is printed as one JSON object per line for the Rust test to read.
//
// Usage: node interop.mjs <cairn multiaddr ending in /p2p/<peer id>> <network>

import './polyfill.mjs'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { kadDHT } from '@libp2p/kad-dht'
import { gossipsub } from '@libp2p/gossipsub'
import { multiaddr } from '@multiformats/multiaddr'

const [target, network] = process.argv.slice(2)
const out = (o) => console.log(JSON.stringify(o))
const fail = (message) => { out({ event: 'error', message }); process.exit(1) }
const timeout = (ms, what) => new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms))

const blocksTopic = `/cairn/${network}/blocks/1`
const txTopic = `/cairn/${network}/txs/1`
const addr = multiaddr(target)
const targetPeer = addr.getComponents().find((c) => c.name === 'p2p')?.value
if (!targetPeer) fail('the address must end in /p2p/<peer id>')

const node = await createLibp2p({
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: {
    identify: identify(),
    ping: ping(),
    dht: kadDHT({ protocol: `/cairn/${network}/kad/1.0.0`, clientMode: false, peerInfoMapper: (p) => p }),
    pubsub: gossipsub({ allowPublishToZeroTopicPeers: true })
  }
})

try {
  let gotBlock
  const blockArrived = new Promise((resolve) => { gotBlock = resolve })
  node.services.pubsub.addEventListener('message', (evt) => {
    if (evt.detail.topic === blocksTopic) gotBlock(evt.detail.data.length)
  })
  node.services.pubsub.subscribe(blocksTopic)
  node.services.pubsub.subscribe(txTopic)

  await Promise.race([node.dial(addr), timeout(20000, 'dial')])
  out({ event: 'connected', peer: node.peerId.toString() })

  // Wait until the Cairn node's subscription to the blocks topic is known.
  await Promise.race([
    (async () => {
      while (!node.services.pubsub.getSubscribers(blocksTopic).some((p) => p.toString() === targetPeer)) {
        await new Promise((r) => setTimeout(r, 100))
      }
    })(),
    timeout(20000, 'the Cairn node subscribing to the blocks topic')
  ])
  out({ event: 'subscribed', topic: blocksTopic })

  // A Kademlia query through the Cairn node: the closest peers to a random key.
  // Queries repeat (up to 5) until a peer other than the one we dialed turns up.
  const responses = new Set()
  const found = new Set()
  for (let attempt = 0; attempt < 5 && found.size < 2; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, 1000))
    const key = crypto.getRandomValues(new Uint8Array(32))
    await Promise.race([
      (async () => {
        for await (const ev of node.services.dht.getClosestPeers(key)) {
          if (ev.name === 'PEER_RESPONSE') responses.add(ev.from.toString())
          if (ev.name === 'FINAL_PEER') found.add(ev.peer.id.toString())
        }
      })(),
      timeout(30000, 'Kademlia query')
    ])
  }
  out({ event: 'kad', responses: [...responses], found: [...found] })

  const size = await Promise.race([blockArrived, timeout(60000, 'a gossiped block')])
  out({ event: 'block', bytes: size })
} catch (e) {
  out({ event: 'error', message: String(e) })
  await node.stop()
  process.exit(1)
}
await node.stop()
out({ event: 'done' })
process.exit(0)
