// shim/poller.c: the poller thread, blocked in poll(2) on registered ZMQ_FDs, that wakes the
// JS thread through a thread-safe JSCallback (src/zmq/poller.ts drives it). Part of the unity
// build in native/zgate-shim.c.
//
// Invariants
// - This thread never calls libzmq: it only polls file descriptors and calls the callback,
//   because ZeroMQ sockets are not thread safe. The JS thread does all socket work.
// - Fields shared with the JS thread are guarded by `lock`; the self-pipe only wakes the
//   thread so it re-reads them.
// - One call back per arming: after firing, the thread watches only its pipe until
//   zg_poller_rearm(), so a busy socket cannot flood the JS thread. Nothing spins.

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>


#define ZG_POLL_FDS_MAX 256

/**
 * One thread blocked in poll(2). Armed, it watches the registered ZMQ_FD descriptors and
 * the command pipe; when a ZMQ_FD turns readable it calls `cb` once (a thread-safe
 * JSCallback: the call only queues work for the JS thread) and disarms, watching only the
 * command pipe until zg_poller_rearm(). Nothing spins: an idle gateway sleeps in poll(2).
 * The shared fields below are guarded by `lock`; the pipe only wakes the thread.
 */
typedef struct {
    pthread_mutex_t lock;
    pthread_t thread;
    void (*cb)(void);
    int pipe_rd;
    int pipe_wr;
    int fds[ZG_POLL_FDS_MAX];
    int nfds;
    int started;
    int stop;
    int rearm;
    int64_t wakeups;
    int last_errno;
} zg_poller_t;

static void zg_poller_wake(zg_poller_t *p) {
    char c = 1;
    // Non-blocking: a full pipe already guarantees a pending wake-up.
    ssize_t r = write(p->pipe_wr, &c, 1);
    (void)r;
}

zg_poller_t *zg_poller_new(void *cb, int32_t *err) {
    int fds[2];
    zg_poller_t *p = (zg_poller_t *)calloc(1, sizeof(zg_poller_t));
    if (!p) { err[0] = ENOMEM; return NULL; }
    if (pipe(fds) != 0) { err[0] = errno; free(p); return NULL; }
    fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
    fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK);
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    pthread_mutex_init(&p->lock, NULL);
    p->pipe_rd = fds[0];
    p->pipe_wr = fds[1];
    p->cb = (void (*)(void))cb;
    p->rearm = 1;
    err[0] = 0;
    return p;
}

/** Watch fd (a ZMQ_FD); works before and after start. -ENOSPC when full, -EEXIST if present. */
int zg_poller_add(zg_poller_t *p, int fd) {
    int rc = 0;
    pthread_mutex_lock(&p->lock);
    for (int i = 0; i < p->nfds; i++) if (p->fds[i] == fd) rc = -EEXIST;
    if (rc == 0 && p->nfds == ZG_POLL_FDS_MAX) rc = -ENOSPC;
    if (rc == 0) p->fds[p->nfds++] = fd;
    pthread_mutex_unlock(&p->lock);
    if (rc == 0) zg_poller_wake(p);
    return rc;
}

/** Stop watching fd. Call before the socket owning it is closed. -ENOENT if absent. */
int zg_poller_remove(zg_poller_t *p, int fd) {
    int rc = -ENOENT;
    pthread_mutex_lock(&p->lock);
    for (int i = 0; i < p->nfds; i++) {
        if (p->fds[i] == fd) {
            p->fds[i] = p->fds[--p->nfds];
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&p->lock);
    if (rc == 0) zg_poller_wake(p);
    return rc;
}

static void *zg_poller_main(void *arg) {
    zg_poller_t *p = (zg_poller_t *)arg;
    struct pollfd pfds[ZG_POLL_FDS_MAX + 1];
    int armed = 0;
    for (;;) {
        int n = 1;
        pthread_mutex_lock(&p->lock);
        if (p->stop) { pthread_mutex_unlock(&p->lock); break; }
        if (p->rearm) { p->rearm = 0; armed = 1; }
        pfds[0].fd = p->pipe_rd;
        pfds[0].events = POLLIN;
        pfds[0].revents = 0;
        if (armed) {
            for (int i = 0; i < p->nfds; i++, n++) {
                pfds[n].fd = p->fds[i];
                pfds[n].events = POLLIN;
                pfds[n].revents = 0;
            }
        }
        pthread_mutex_unlock(&p->lock);

        int rc = poll(pfds, (nfds_t)n, -1);
        if (rc < 0) {
            if (errno == EINTR) continue;
            pthread_mutex_lock(&p->lock);
            p->last_errno = errno;
            pthread_mutex_unlock(&p->lock);
            break;
        }
        if (pfds[0].revents & POLLIN) {
            char drain[64];
            while (read(p->pipe_rd, drain, sizeof drain) > 0) {}
        }
        int fired = 0;
        for (int i = 1; i < n; i++) {
            short re = pfds[i].revents;
            if (re & POLLNVAL) {
                // The fd was closed without zg_poller_remove: forget it rather than spin.
                zg_poller_remove(p, pfds[i].fd);
            } else if (re & (POLLIN | POLLERR | POLLHUP)) {
                fired = 1;
            }
        }
        if (fired) {
            armed = 0;
            pthread_mutex_lock(&p->lock);
            p->wakeups++;
            pthread_mutex_unlock(&p->lock);
            p->cb();
        }
    }
    return NULL;
}

int zg_poller_start(zg_poller_t *p) {
    if (p->started) return -EALREADY;
    int rc = pthread_create(&p->thread, NULL, zg_poller_main, p);
    if (rc != 0) return -rc;
    p->started = 1;
    return 0;
}

/** Resume watching the ZMQ_FDs after the JS side drained its sockets. */
void zg_poller_rearm(zg_poller_t *p) {
    pthread_mutex_lock(&p->lock);
    p->rearm = 1;
    pthread_mutex_unlock(&p->lock);
    zg_poller_wake(p);
}

/** Times the callback was called. */
double zg_poller_wakeups(zg_poller_t *p) {
    pthread_mutex_lock(&p->lock);
    double w = (double)p->wakeups;
    pthread_mutex_unlock(&p->lock);
    return w;
}

/** Join the thread and free everything. Returns the thread's poll errno, 0 when none. */
int zg_poller_stop(zg_poller_t *p) {
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_mutex_unlock(&p->lock);
    zg_poller_wake(p);
    if (p->started) pthread_join(p->thread, NULL);
    int e = p->last_errno;
    close(p->pipe_rd);
    close(p->pipe_wr);
    pthread_mutex_destroy(&p->lock);
    free(p);
    return e;
}
