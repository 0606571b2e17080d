// zgate-shim.c: batched ZeroMQ I/O and a file-descriptor poller thread for zgate. A unity
// file: the C compiler sees this one translation unit, which includes the parts (relative
// includes resolve from this file's folder, whatever the cwd):
//   shim/abi.h      libzmq ABI declarations, stats slots, the libzmq function table
//   shim/control.c  zg_init and the socket/context/option/endpoint wrappers
//   shim/send.c     zg_send_batch, batched multipart send (outbox layout)
//   shim/recv.c     zg_recv_batch, batched receive (inbox layout)
//   shim/poller.c   the poller thread
//
// Built ahead of time into a shared library by `bun run build:native` (src/zmq/shim-build.ts:
// `cc -std=c11 -O2 -fPIC -shared zgate-shim.c -lpthread`); src/zmq/ffi.ts, the only caller,
// dlopens it, or compiles it with bun:ffi `cc` (TinyCC) as a last resort, so the code must
// stay plain C11 that both gcc and TinyCC accept. The shim never links libzmq: ffi.ts dlopens
// libzmq and hands its function pointers to zg_init(), in the order of enum zg_fn (abi.h).
//
// Invariants
// - Only the JS thread touches ZeroMQ sockets (zg_send_batch, zg_recv_batch, the control
//   wrappers). The poller thread only calls poll(2) on file descriptors and the
//   thread-safe JS callback; ZeroMQ sockets are not thread safe.
// - Every call returns failures as a negative errno (or in a stats slot), read right after
//   the failing libzmq call on the same thread, so nothing between the failure and the
//   read can clobber errno (a separate zmq_errno() FFI call from JS could be).
// - One translation unit: the parts share `Z` and their static helpers, and the compiler sees
//   all of them at once. Never compile a part alone.
// - One copy per process: every worker thread dlopens the same file, so `Z` is shared, and
//   each thread's zg_init() stores the same pointers again (the same libzmq file loads first
//   on every thread).

#include "shim/abi.h"
#include "shim/control.c"
#include "shim/send.c"
#include "shim/recv.c"
#include "shim/poller.c"
