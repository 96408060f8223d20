// js-libp2p 3.x targets Node.js 22; Node.js 20 (Debian's and this machine's) lacks
// Promise.withResolvers, which its queues use. Loaded before anything else.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers () {
    let resolve, reject
    const promise = new this((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}
