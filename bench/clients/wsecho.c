/* wsecho: WebSocket echo load client (RFC 6455), epoll, one thread, loopback only.
 *
 *   wsecho --port P -n N [--size BYTES] [--duration S] [--warmup S] [--window W]
 *          [--setup-timeout S] [--msg-timeout S] [--path /] [--pid PID]...
 *
 * Opens N connections (at most W connects/upgrades in flight), upgrades each, then every
 * connection loops: one masked text message of --size bytes, wait for the whole echo (any
 * fragmentation), check its bytes, repeat. Messages completed during the --warmup seconds
 * are not counted; those completed during the next --duration seconds are. Then each
 * connection sends a close frame and waits for the server's close and TCP close.
 * Every phase is bounded in time. For each --pid, the CPU ticks (utime+stime, all threads)
 * it used during the measured window are printed, so CPU per message needs no guessing.
 *
 * Prints one line on stdout:
 *   WSECHO conns=N open=X size=S dur=D msgs=M msgs_per_s=R p50_us=.. p99_us=.. max_us=..
 *     errors=E connect_fail=.. upgrade_fail=.. proto_err=.. mismatch=.. closed_early=..
 *     timeouts=.. close_ok=.. tcp_closed=.. setup_s=.. pid_ticks=T1,T2,..
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The key of RFC 6455 1.3 and its accept value: one constant key is fine for a load test. */
#define WS_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define WS_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
/** Largest upgrade response head accepted. */
#define HEAD_SIZE_MAX_BYTES 2048
/** Largest message size. */
#define MESSAGE_SIZE_MAX_BYTES (16 << 20)
/** Client frame header: 2 bytes + 8 of extended length + 4 of mask (RFC 6455 5.2). */
#define FRAME_HEADER_MAX_BYTES 14
/** Latency histogram: 1 us buckets below FINE_US, 1 ms buckets up to COARSE_MS. */
#define FINE_US 100000
#define COARSE_MS 120000
/** Time allowed for the close handshakes at the end. */
#define CLOSE_WAIT_S 3.0
#define PIDS_MAX 8
#define EPOLL_BATCH 512
#define READ_SCRATCH_BYTES (256 * 1024)

enum { ST_FREE, ST_CONNECTING, ST_UPGRADING, ST_OPEN, ST_CLOSING, ST_DONE, ST_DEAD };

typedef struct {
    int fd;
    uint8_t state;
    uint8_t want_out;  /* EPOLLOUT armed */
    uint8_t in_flight; /* a message was sent and its echo is not complete */
    uint8_t hdr_got;   /* bytes of a partial server frame header */
    uint8_t in_payload; /* the header of the current server frame is complete */
    uint8_t hdr[FRAME_HEADER_MAX_BYTES];
    uint8_t frame_op;
    uint8_t frame_fin;
    uint8_t got_close;
    uint32_t sent;       /* bytes of the outgoing frame written */
    uint64_t frame_left; /* payload bytes of the current server frame still to come */
    uint32_t echo_got;   /* payload bytes of the echo so far */
    uint16_t head_got;
    double t_sent;
    char *head; /* upgrade response head, freed once open */
} conn_t;

static volatile sig_atomic_t g_stop = 0;
static void on_sig(int s) { (void)s; g_stop = 1; }

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint32_t hist_fine[FINE_US];
static uint32_t hist_coarse[COARSE_MS + 1];
static unsigned long hist_n;

static void hist_add(double secs) {
    double us = secs * 1e6;
    if (us < FINE_US)
        hist_fine[us < 0 ? 0 : (long)us]++;
    else {
        long ms = (long)(us / 1000);
        hist_coarse[ms > COARSE_MS ? COARSE_MS : ms]++;
    }
    hist_n++;
}

static double hist_quantile(double q) {
    if (!hist_n)
        return 0;
    unsigned long want = (unsigned long)(q * (double)hist_n), seen = 0;
    if (want >= hist_n)
        want = hist_n - 1;
    for (long i = 0; i < FINE_US; i++)
        if ((seen += hist_fine[i]) > want)
            return (double)i;
    for (long i = 0; i <= COARSE_MS; i++)
        if ((seen += hist_coarse[i]) > want)
            return (double)i * 1000;
    return (double)COARSE_MS * 1000;
}

static long pid_ticks(int pid) {
    char path[64], buf[2048];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* comm may contain spaces */
    if (!p)
        return -1;
    long ut = 0, stt = 0;
    /* after ") ": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime(14) stime(15) */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &ut, &stt) != 2)
        return -1;
    return ut + stt;
}

/* stats */
static long n_connect_fail, n_upgrade_fail, n_proto, n_mismatch, n_closed_early, n_timeouts;
static long n_close_ok, n_tcp_closed, n_open;
static unsigned long msgs_measured;

static int ep;
static uint8_t *frame;   /* the client frame: header + masked payload (same for every message) */
static uint8_t *payload; /* the payload as the server must echo it */
static size_t frame_len, msg_size;
static double t_measure0, t_measure1; /* counted window */
static int sending = 1;

static void arm(conn_t *k, long idx, int out) {
    if (k->want_out == out)
        return;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (out ? EPOLLOUT : 0), .data.u64 = (uint64_t)idx};
    epoll_ctl(ep, EPOLL_CTL_MOD, k->fd, &ev);
    k->want_out = (uint8_t)out;
}

static void kill_conn(conn_t *k, long *counter) {
    if (counter)
        (*counter)++;
    if (k->state == ST_OPEN || k->state == ST_CLOSING)
        n_open--;
    epoll_ctl(ep, EPOLL_CTL_DEL, k->fd, NULL);
    close(k->fd);
    free(k->head);
    k->head = NULL;
    k->state = ST_DEAD;
}

/* Writes the rest of the current outgoing frame; returns -1 on error. */
static int write_some(conn_t *k, long idx, const uint8_t *buf, size_t len) {
    while (k->sent < len) {
        ssize_t w = write(k->fd, buf + k->sent, len - k->sent);
        if (w > 0) {
            k->sent += (uint32_t)w;
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            arm(k, idx, 1);
            return 0;
        }
        return -1;
    }
    arm(k, idx, 0);
    return 0;
}

static int send_message(conn_t *k, long idx) {
    k->sent = 0;
    k->echo_got = 0;
    k->in_flight = 1;
    k->t_sent = now_s();
    return write_some(k, idx, frame, frame_len);
}

/* a masked close frame with code 1000 (RFC 6455 5.5.1) */
static const uint8_t close_frame[] = {0x88, 0x82, 0x11, 0x22, 0x33, 0x44, 0x03 ^ 0x11, 0xe8 ^ 0x22};

static void message_done(conn_t *k, long idx) {
    double t = now_s();
    k->in_flight = 0;
    if (t >= t_measure0 && t < t_measure1) {
        msgs_measured++;
        hist_add(t - k->t_sent);
    }
    if (sending && t < t_measure1) {
        if (send_message(k, idx) < 0)
            kill_conn(k, &n_closed_early);
    }
}

/* Server frames in buf[0, n); returns -1 when the connection must go. */
static int on_frames(conn_t *k, long idx, const uint8_t *buf, size_t n) {
    size_t i = 0;
    for (;;) {
        if (!k->in_payload) { /* a frame header, possibly split across reads */
            while (k->hdr_got < 2 && i < n)
                k->hdr[k->hdr_got++] = buf[i++];
            if (k->hdr_got < 2)
                return 0;
            if (k->hdr[1] & 0x80) {
                n_proto++; /* server frames are never masked (RFC 6455 5.1) */
                return -1;
            }
            uint8_t l7 = k->hdr[1] & 0x7f;
            size_t need = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0);
            while (k->hdr_got < need && i < n)
                k->hdr[k->hdr_got++] = buf[i++];
            if (k->hdr_got < need)
                return 0;
            uint64_t len = l7;
            if (l7 >= 126) {
                len = 0;
                for (size_t b = 2; b < need; b++)
                    len = (len << 8) | k->hdr[b];
            }
            k->frame_fin = k->hdr[0] >> 7;
            k->frame_op = k->hdr[0] & 0x0f;
            k->frame_left = len;
            k->hdr_got = 0;
            k->in_payload = 1;
            if (k->frame_op > 2 && k->frame_op < 8) {
                n_proto++;
                return -1;
            }
        }
        size_t take = n - i;
        if (take > k->frame_left)
            take = (size_t)k->frame_left;
        if (k->frame_op <= 2) {
            if (!k->in_flight || k->echo_got + take > msg_size ||
                memcmp(buf + i, payload + k->echo_got, take) != 0) {
                n_mismatch++;
                return -1;
            }
            k->echo_got += (uint32_t)take;
        }
        i += take;
        k->frame_left -= take;
        if (k->frame_left > 0)
            return 0;
        k->in_payload = 0;
        if (k->frame_op == 8) { /* the server's close */
            k->got_close = 1;
            if (k->state != ST_CLOSING) {
                n_closed_early++;
                return -1;
            }
            n_close_ok++;
        } else if (k->frame_op <= 2 && k->frame_fin) {
            if (k->echo_got != msg_size) {
                n_mismatch++;
                return -1;
            }
            message_done(k, idx);
            if (k->state == ST_DEAD)
                return 0;
        }
        if (i >= n)
            return 0;
    }
}

static int on_upgrade_bytes(conn_t *k, long idx, const uint8_t *buf, size_t n) {
    size_t room = HEAD_SIZE_MAX_BYTES - 1 - k->head_got;
    size_t take = n < room ? n : room;
    memcpy(k->head + k->head_got, buf, take);
    size_t old = k->head_got;
    k->head_got = (uint16_t)(k->head_got + take);
    k->head[k->head_got] = 0;
    char *end = strstr(k->head, "\r\n\r\n");
    if (!end) {
        if (k->head_got >= HEAD_SIZE_MAX_BYTES - 1)
            return -1;
        return 0;
    }
    size_t head_len = (size_t)(end + 4 - k->head);
    if (strncmp(k->head, "HTTP/1.1 101 ", 13) != 0 || !strcasestr(k->head, "\r\nupgrade: websocket\r\n") ||
        !strstr(k->head, WS_ACCEPT))
        return -1;
    free(k->head);
    k->head = NULL;
    k->state = ST_OPEN;
    n_open++;
    /* frames right behind the head (none expected before we send) */
    size_t used = head_len - old;
    if (used < n)
        return on_frames(k, idx, buf + used, n - used);
    return 0;
}

int main(int argc, char **argv) {
    const char *host = "127.0.0.1", *path = "/";
    int port = 0, window = 128, npids = 0, pids[PIDS_MAX];
    long n = 0;
    double duration = 10, warmup = 2, setup_timeout = 30, msg_timeout = 10;
    msg_size = 64;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--port") && v) port = atoi(v), i++;
        else if (!strcmp(a, "-n") && v) n = atol(v), i++;
        else if (!strcmp(a, "--size") && v) msg_size = (size_t)atol(v), i++;
        else if (!strcmp(a, "--duration") && v) duration = atof(v), i++;
        else if (!strcmp(a, "--warmup") && v) warmup = atof(v), i++;
        else if (!strcmp(a, "--window") && v) window = atoi(v), i++;
        else if (!strcmp(a, "--setup-timeout") && v) setup_timeout = atof(v), i++;
        else if (!strcmp(a, "--msg-timeout") && v) msg_timeout = atof(v), i++;
        else if (!strcmp(a, "--path") && v) path = v, i++;
        else if (!strcmp(a, "--host") && v) host = v, i++;
        else if (!strcmp(a, "--pid") && v && npids < PIDS_MAX) pids[npids++] = atoi(v), i++;
        else {
            fprintf(stderr, "unknown/incomplete arg %s\n", a);
            return 2;
        }
    }
    if (port <= 0 || n <= 0 || msg_size == 0 || msg_size > MESSAGE_SIZE_MAX_BYTES || duration <= 0) {
        fprintf(stderr, "usage: %s --port P -n N [--size B] [--duration S] [--warmup S] [--window W] [--pid PID]\n", argv[0]);
        return 2;
    }
    struct sockaddr_in dst;
    memset(&dst, 0, sizeof(dst));
    dst.sin_family = AF_INET;
    dst.sin_port = htons((unsigned short)port);
    if (inet_pton(AF_INET, host, &dst.sin_addr) != 1 || (ntohl(dst.sin_addr.s_addr) >> 24) != 127) {
        fprintf(stderr, "host must be a 127.0.0.0/8 address\n");
        return 2;
    }
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if ((rlim_t)n + 16 > rl.rlim_cur) {
        fprintf(stderr, "wsecho: -n %ld exceeds the fd limit\n", n);
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sig;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* one text frame, masked with a fixed key, reused for every message */
    payload = malloc(msg_size);
    frame = malloc(msg_size + FRAME_HEADER_MAX_BYTES);
    uint8_t *scratch = malloc(READ_SCRATCH_BYTES);
    conn_t *c = calloc((size_t)n, sizeof(conn_t));
    if (!payload || !frame || !scratch || !c) {
        perror("malloc");
        return 1;
    }
    for (size_t i = 0; i < msg_size; i++)
        payload[i] = (uint8_t)('a' + i % 26);
    size_t h = 0;
    frame[h++] = 0x81; /* FIN, text */
    if (msg_size < 126)
        frame[h++] = (uint8_t)(0x80 | msg_size);
    else if (msg_size < 65536) {
        frame[h++] = 0x80 | 126;
        frame[h++] = (uint8_t)(msg_size >> 8);
        frame[h++] = (uint8_t)msg_size;
    } else {
        frame[h++] = 0x80 | 127;
        for (int b = 7; b >= 0; b--)
            frame[h++] = (uint8_t)((uint64_t)msg_size >> (8 * b));
    }
    const uint8_t mask[4] = {0x5a, 0xc3, 0x17, 0x8e};
    memcpy(frame + h, mask, 4);
    h += 4;
    for (size_t i = 0; i < msg_size; i++)
        frame[h + i] = payload[i] ^ mask[i & 3];
    frame_len = h + msg_size;

    char req[512];
    int reqlen = snprintf(req, sizeof(req),
                          "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Key: " WS_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
                          path, host, port);

    ep = epoll_create1(0);
    struct epoll_event evs[EPOLL_BATCH];
    long next = 0, inflight = 0;
    double t0 = now_s(), setup_deadline = t0 + setup_timeout;

    /* ---- setup: connect and upgrade, W at a time */
    while (!g_stop && (next < n || inflight > 0) && now_s() < setup_deadline) {
        while (next < n && inflight < window) {
            conn_t *k = &c[next];
            int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (fd < 0) {
                n_connect_fail++;
                next++;
                continue;
            }
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) != 0 && errno != EINPROGRESS) {
                close(fd);
                n_connect_fail++;
                next++;
                continue;
            }
            k->fd = fd;
            k->state = ST_CONNECTING;
            k->want_out = 1;
            struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.u64 = (uint64_t)next};
            epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
            inflight++;
            next++;
        }
        int m = epoll_wait(ep, evs, EPOLL_BATCH, 100);
        for (int i = 0; i < m; i++) {
            long idx = (long)evs[i].data.u64;
            conn_t *k = &c[idx];
            uint32_t e = evs[i].events;
            if (k->state == ST_CONNECTING && (e & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
                int err = 0;
                socklen_t el = sizeof(err);
                getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                if (err || write(k->fd, req, (size_t)reqlen) != reqlen) {
                    kill_conn(k, &n_connect_fail);
                    inflight--;
                    continue;
                }
                k->head = malloc(HEAD_SIZE_MAX_BYTES);
                k->state = ST_UPGRADING;
                arm(k, idx, 0);
            } else if (k->state == ST_UPGRADING && (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
                ssize_t r = read(k->fd, scratch, READ_SCRATCH_BYTES);
                if (r < 0 && (errno == EAGAIN || errno == EINTR))
                    continue;
                if (r <= 0 || on_upgrade_bytes(k, idx, scratch, (size_t)r) < 0) {
                    kill_conn(k, &n_upgrade_fail);
                    inflight--;
                } else if (k->state == ST_OPEN) {
                    inflight--;
                }
            } else if (k->state == ST_OPEN && (e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
                kill_conn(k, &n_closed_early);
            }
        }
    }
    for (long i = 0; i < next; i++)
        if (c[i].state == ST_CONNECTING || c[i].state == ST_UPGRADING)
            kill_conn(&c[i], &n_upgrade_fail);
    n_connect_fail += n - next;
    double setup_s = now_s() - t0;

    /* ---- load: every open connection echoes in a loop */
    double start = now_s();
    t_measure0 = start + warmup;
    t_measure1 = t_measure0 + duration;
    long ticks0[PIDS_MAX], ticks1[PIDS_MAX];
    int measuring = 0;
    for (long i = 0; i < n; i++)
        if (c[i].state == ST_OPEN && send_message(&c[i], i) < 0)
            kill_conn(&c[i], &n_closed_early);
    double last_scan = start;
    /* the load phase ends at t_measure1 plus time for the last echoes */
    double load_end = t_measure1 + msg_timeout;
    while (!g_stop) {
        double t = now_s();
        if (!measuring && t >= t_measure0) {
            for (int p = 0; p < npids; p++)
                ticks0[p] = pid_ticks(pids[p]);
            measuring = 1;
        }
        if (measuring == 1 && t >= t_measure1) {
            for (int p = 0; p < npids; p++)
                ticks1[p] = pid_ticks(pids[p]);
            measuring = 2;
            sending = 0;
        }
        if (t >= load_end)
            break;
        if (t - last_scan > 0.2) { /* a message without its echo for msg_timeout fails */
            last_scan = t;
            long busy = 0;
            for (long i = 0; i < n; i++) {
                if (c[i].state != ST_OPEN || !c[i].in_flight)
                    continue;
                busy++;
                if (t - c[i].t_sent > msg_timeout)
                    kill_conn(&c[i], &n_timeouts);
            }
            if (measuring == 2 && busy == 0)
                break;
        }
        int timeout_ms = measuring < 2 ? 20 : 50;
        int m = epoll_wait(ep, evs, EPOLL_BATCH, timeout_ms);
        for (int i = 0; i < m; i++) {
            long idx = (long)evs[i].data.u64;
            conn_t *k = &c[idx];
            uint32_t e = evs[i].events;
            if (k->state != ST_OPEN)
                continue;
            if ((e & EPOLLOUT) && k->in_flight && k->sent < frame_len) {
                if (write_some(k, idx, frame, frame_len) < 0) {
                    kill_conn(k, &n_closed_early);
                    continue;
                }
            }
            if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
                for (;;) {
                    ssize_t r = read(k->fd, scratch, READ_SCRATCH_BYTES);
                    if (r > 0) {
                        if (on_frames(k, idx, scratch, (size_t)r) < 0) {
                            kill_conn(k, NULL);
                            break;
                        }
                        if (k->state != ST_OPEN || (size_t)r < READ_SCRATCH_BYTES)
                            break;
                        continue;
                    }
                    if (r < 0 && (errno == EAGAIN || errno == EINTR))
                        break;
                    kill_conn(k, &n_closed_early);
                    break;
                }
            }
        }
    }
    if (measuring < 2) { /* stopped early (signal) */
        for (int p = 0; p < npids; p++) {
            if (!measuring)
                ticks0[p] = pid_ticks(pids[p]);
            ticks1[p] = pid_ticks(pids[p]);
        }
        t_measure1 = now_s() < t_measure1 ? now_s() : t_measure1;
    }
    for (long i = 0; i < n; i++)
        if (c[i].state == ST_OPEN && c[i].in_flight)
            kill_conn(&c[i], &n_timeouts);

    /* ---- close handshakes: our close, the server's close, then TCP close */
    for (long i = 0; i < n; i++) {
        conn_t *k = &c[i];
        if (k->state != ST_OPEN)
            continue;
        k->state = ST_CLOSING;
        if (write(k->fd, close_frame, sizeof(close_frame)) != (ssize_t)sizeof(close_frame))
            kill_conn(k, &n_closed_early);
    }
    double close_deadline = now_s() + CLOSE_WAIT_S;
    long closing = n_open;
    while (!g_stop && closing > 0 && now_s() < close_deadline) {
        int m = epoll_wait(ep, evs, EPOLL_BATCH, 100);
        for (int i = 0; i < m; i++) {
            long idx = (long)evs[i].data.u64;
            conn_t *k = &c[idx];
            if (k->state != ST_CLOSING)
                continue;
            ssize_t r = read(k->fd, scratch, READ_SCRATCH_BYTES);
            if (r > 0) {
                if (on_frames(k, idx, scratch, (size_t)r) < 0) {
                    kill_conn(k, NULL);
                    closing--;
                }
                continue;
            }
            if (r < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (r == 0 && k->got_close)
                n_tcp_closed++;
            kill_conn(k, r == 0 && k->got_close ? NULL : &n_closed_early);
            closing--;
        }
    }
    long close_missing = n_open; /* still open: no TCP close from the server in time */
    for (long i = 0; i < n; i++)
        if (c[i].state == ST_CLOSING)
            kill_conn(&c[i], NULL);

    double dur = t_measure1 - t_measure0;
    long errors = n_connect_fail + n_upgrade_fail + n_proto + n_mismatch + n_closed_early + n_timeouts;
    long opened = 0;
    for (long i = 0; i < n; i++)
        opened += c[i].state == ST_DEAD || c[i].state == ST_DONE;
    printf("WSECHO conns=%ld open=%ld size=%zu dur=%.2f msgs=%lu msgs_per_s=%.1f p50_us=%.0f p99_us=%.0f "
           "max_us=%.0f errors=%ld connect_fail=%ld upgrade_fail=%ld proto_err=%ld mismatch=%ld "
           "closed_early=%ld timeouts=%ld close_ok=%ld tcp_closed=%ld close_missing=%ld setup_s=%.2f pid_ticks=",
           n, n - n_connect_fail - n_upgrade_fail, msg_size, dur, msgs_measured,
           dur > 0 ? (double)msgs_measured / dur : 0, hist_quantile(0.5), hist_quantile(0.99),
           hist_quantile(1.0), errors, n_connect_fail, n_upgrade_fail, n_proto, n_mismatch,
           n_closed_early, n_timeouts, n_close_ok, n_tcp_closed, close_missing, setup_s);
    (void)opened;
    for (int p = 0; p < npids; p++)
        printf("%s%ld", p ? "," : "", ticks0[p] >= 0 && ticks1[p] >= 0 ? ticks1[p] - ticks0[p] : -1);
    printf("\n");
    fflush(stdout);
    return errors > 0 ? 1 : 0;
}
