// The Worker's own memory, as opposed to its workerd process's RSS (which also holds wrangler
// dev's helper Workers, the inspector's buffers and SQLite's caches): the size of the Worker's
// V8 isolate after a forced garbage collection, from a heap snapshot taken through workerd's
// inspector (the Chrome DevTools protocol). The Wasm module's linear memory is an ArrayBuffer
// of that heap, so the figure covers the Rust side too.
//
// workerd reads inspector messages only when something wakes the isolate, so while waiting for
// an answer this sends the Worker a request (`wake`) every 200 ms. soak.sh finds the
// inspector's address in wrangler's debug log; WebSocket needs Node's --experimental-websocket
// before Node 22.

const WAKE_EVERY_MS = 200;

/** Bytes of the isolate's heap after a forced GC, or null when it cannot be measured. */
export async function isolateHeapBytes(inspectorUrl, wake, timeoutMs = 30_000) {
  if (!inspectorUrl) return null;
  const socket = new WebSocket(inspectorUrl);
  const pending = new Map();
  const chunks = [];
  let nextId = 0;
  const call = (method, params = {}) =>
    new Promise((resolve, reject) => {
      nextId += 1;
      pending.set(nextId, { resolve, reject });
      socket.send(JSON.stringify({ id: nextId, method, params }));
    });
  const failAll = (reason) => {
    for (const { reject } of pending.values()) reject(new Error(reason));
    pending.clear();
  };
  socket.onmessage = ({ data }) => {
    const message = JSON.parse(data);
    if (message.method === "HeapProfiler.addHeapSnapshotChunk") chunks.push(message.params.chunk);
    const waiting = message.id && pending.get(message.id);
    if (!waiting) return;
    pending.delete(message.id);
    if (message.error) waiting.reject(new Error(message.error.message));
    else waiting.resolve(message.result);
  };
  socket.onclose = () => failAll("the inspector closed the connection");
  const waker = setInterval(() => wake().catch(() => {}), WAKE_EVERY_MS);
  const timer = setTimeout(() => failAll(`no answer within ${timeoutMs} ms`), timeoutMs);
  try {
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = () => reject(new Error(`no inspector at ${inspectorUrl}`));
    });
    await call("HeapProfiler.enable");
    await call("HeapProfiler.collectGarbage");
    await call("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
    const snapshot = JSON.parse(chunks.join(""));
    const fields = snapshot.snapshot.meta.node_fields;
    const sizeAt = fields.indexOf("self_size");
    let total = 0;
    for (let index = sizeAt; index < snapshot.nodes.length; index += fields.length) total += snapshot.nodes[index];
    return total;
  } catch (error) {
    console.error(`soak: could not measure the Worker's isolate: ${error.message}`);
    return null;
  } finally {
    clearInterval(waker);
    clearTimeout(timer);
    socket.close();
  }
}
