/* ZHTTP WebSocket echo handler for load tests (zhttp.md section 5).
 *
 *   zhttp_ws_echo_handler [-v] [--id NAME] [--credits BYTES] BASE
 *
 * PULL connected to BASE-out (first packet of each session), ROUTER with identity NAME
 * connected to BASE-out-stream (every later packet, addressed to our `from`), PUB connected
 * to BASE-in. Replies are "<gateway from> T{...}".
 *
 * - An upgrade request (uri ws:// or wss://) gets a 101 data packet granting --credits bytes
 *   of client messages (default 1 MiB). A plain HTTP request gets "200 ok" so the shared
 *   harness's curl readiness probe works.
 * - Every data packet is echoed with its content-type, body and more flag, within the
 *   credits the gateway granted us (its --buffer-size at first, then its `credit` packets as
 *   it writes to the client, zhttp.md 5.5). Bytes that do not fit wait in a pending buffer and
 *   go out, split into more:true pieces, as credits arrive: a 16 KiB message against 8 KiB
 *   of credits takes several round trips of credit packets.
 * - Received payload bytes (data, ping, pong, close) are handed back to the gateway as
 *   `credit` packets every CREDIT_RETURN_BYTES, so client->handler flow never stalls (5.4).
 * - seq: ours start at 0 and advance by one per packet; the gateway's are checked against
 *   the expected next value (multi-id keep-alives included) and mismatches counted (4.5).
 * - close is answered with close (same code and reason) and ends the session; cancel and
 *   error end it; ping gets pong; pong and keep-alive are only counted.
 * Sessions live in an open-addressing table keyed by the id string (linear probing,
 * backward-shift deletion). Pending buffers come from a free list, allocated at most once
 * each: no heap allocation per message (libzmq still allocates its message bodies).
 */
#include "common.h"

#include <stdint.h>

/** Appends a string literal. */
#define W_LIT(w, s) w_raw((w), (s), sizeof(s) - 1)

/** Sessions the table holds at most (half its slots, so probes stay short). */
#define SESSIONS_MAX 16384
#define TABLE_SLOTS (2 * SESSIONS_MAX)
/** Longest session id and gateway address accepted (zhttp.md 6: 64-byte addresses). */
#define ID_SIZE_MAX_BYTES 64
#define ADDR_SIZE_MAX_BYTES 64
/** Client message bytes granted with the 101 (zhttp.md 5.3). */
#define ACCEPT_CREDITS_BYTES (1 << 20)
/** Received bytes handed back as one credit packet. */
#define CREDIT_RETURN_BYTES (64 * 1024)
/** Echo bytes one session may hold back waiting for credits, and pieces queued with them. */
#define PENDING_SIZE_MAX_BYTES (256 * 1024)
#define PENDING_PIECES_MAX 64
/** Room in front of a packet's map for "<addr> T<len>:". */
#define HEAD_ROOM_BYTES (ADDR_SIZE_MAX_BYTES + 32)
/** Largest body of one echo packet (whatever the credits). */
#define ECHO_PACKET_BODY_MAX_BYTES (64 * 1024)
/** Sockets are polled this often for SIGTERM. */
#define POLL_TIMEOUT_MS 200

typedef struct {
    uint32_t len;
    uint8_t binary;
    uint8_t more;
} piece_t;

/* Echo bytes waiting for the gateway's credits: a byte FIFO and the packets they came in. */
typedef struct pending {
    struct pending *next_free;
    uint32_t off, len;
    uint32_t piece_head, piece_count;
    piece_t pieces[PENDING_PIECES_MAX];
    char bytes[PENDING_SIZE_MAX_BYTES];
} pending_t;

typedef struct {
    uint8_t used;
    uint8_t id_len;
    uint8_t addr_len;
    char id[ID_SIZE_MAX_BYTES];
    char addr[ADDR_SIZE_MAX_BYTES];
    uint32_t out_seq;    /* our next seq */
    uint32_t in_seq;     /* the gateway's next expected seq */
    int64_t credits;     /* bytes the gateway lets us send */
    uint32_t unreturned; /* bytes received and not yet handed back as credits */
    pending_t *pend;     /* NULL when nothing waits */
} sess_t;

static sess_t table[TABLE_SLOTS];
static unsigned long live;
static pending_t *free_pending;

static char inbuf[MSG_MAX];
/* room for the head, a map around any body that fits inbuf, and the closing '}' */
static char outbuf[2 * HEAD_ROOM_BYTES + MSG_MAX];

static void *pub;
static const char *myid;
static size_t myid_len;
static int verbose;

static struct {
    unsigned long upgrades, plain, data_in, echoed, echo_bytes, pended, credit_in, credit_out, closes,
        cancels, pings, pongs, keepalives, seq_errors, unknown_session, bad, dropped, full;
} st;

/* ------------------------------------------------------------------ session table */

static uint32_t hash_id(const char *p, size_t n) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)p[i];
        h *= 16777619u;
    }
    return h;
}

static sess_t *sess_find(const char *id, size_t n) {
    uint32_t i = hash_id(id, n) & (TABLE_SLOTS - 1);
    while (table[i].used) {
        if (table[i].id_len == n && memcmp(table[i].id, id, n) == 0)
            return &table[i];
        i = (i + 1) & (TABLE_SLOTS - 1);
    }
    return NULL;
}

static sess_t *sess_add(const char *id, size_t n) {
    if (n == 0 || n > ID_SIZE_MAX_BYTES || live >= SESSIONS_MAX)
        return NULL;
    uint32_t i = hash_id(id, n) & (TABLE_SLOTS - 1);
    while (table[i].used)
        i = (i + 1) & (TABLE_SLOTS - 1);
    sess_t *s = &table[i];
    memset(s, 0, sizeof(*s));
    s->used = 1;
    s->id_len = (uint8_t)n;
    memcpy(s->id, id, n);
    live++;
    return s;
}

static void pending_release(sess_t *s) {
    if (s->pend) {
        s->pend->next_free = free_pending;
        free_pending = s->pend;
        s->pend = NULL;
    }
}

/* Linear-probing delete: later entries of the same probe run move back into the hole. */
static void sess_del(sess_t *s) {
    pending_release(s);
    uint32_t hole = (uint32_t)(s - table);
    uint32_t j = hole;
    table[hole].used = 0;
    live--;
    for (;;) {
        j = (j + 1) & (TABLE_SLOTS - 1);
        if (!table[j].used)
            return;
        uint32_t home = hash_id(table[j].id, table[j].id_len) & (TABLE_SLOTS - 1);
        /* the entry at j may fill the hole unless its home lies cyclically in (hole, j] */
        int stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!stays) {
            table[hole] = table[j];
            table[j].used = 0;
            table[j].pend = NULL;
            hole = j;
        }
    }
}

/* ------------------------------------------------------------------ packet parsing */

typedef struct {
    tn_t from, id, type, ctype, body, uri;
    int64_t seq, credits, code;
    int more, id_is_list;
} pkt_t;

static int64_t tn_int(const tn_t *v) {
    int64_t n = 0;
    int neg = 0;
    size_t i = 0;
    if (v->len && v->data[0] == '-')
        neg = 1, i = 1;
    for (; i < v->len; i++)
        n = n * 10 + (v->data[i] - '0');
    return neg ? -n : n;
}

static int key_is(const tn_t *k, const char *name, size_t n) {
    return k->len == n && memcmp(k->data, name, n) == 0;
}

/* The fields of one packet map in [p, end). Returns 0 when it parsed. */
static int parse_packet(const char *p, const char *end, pkt_t *o) {
    memset(o, 0, sizeof(*o));
    o->seq = -1;
    o->code = -1;
    while (p < end) {
        tn_t k, v;
        if (tn_parse(p, end, &k) != 0 || k.type != ',' || tn_parse(k.next, end, &v) != 0)
            return -1;
        if (key_is(&k, "from", 4) && v.type == ',')
            o->from = v;
        else if (key_is(&k, "id", 2))
            o->id = v, o->id_is_list = v.type == ']';
        else if (key_is(&k, "seq", 3) && v.type == '#')
            o->seq = tn_int(&v);
        else if (key_is(&k, "type", 4) && v.type == ',')
            o->type = v;
        else if (key_is(&k, "content-type", 12) && v.type == ',')
            o->ctype = v;
        else if (key_is(&k, "body", 4) && v.type == ',')
            o->body = v;
        else if (key_is(&k, "uri", 3) && v.type == ',')
            o->uri = v;
        else if (key_is(&k, "more", 4) && v.type == '!')
            o->more = v.len == 4 && memcmp(v.data, "true", 4) == 0;
        else if (key_is(&k, "credits", 7) && v.type == '#')
            o->credits = tn_int(&v);
        else if (key_is(&k, "code", 4) && v.type == '#')
            o->code = tn_int(&v);
        p = v.next;
    }
    return 0;
}

/* ------------------------------------------------------------------ packet writing */

/* A packet map is written at outbuf + HEAD_ROOM_BYTES; packet_send puts the address, "T"
 * and the length in front of it and sends. */
static wbuf_t packet_begin(sess_t *s) {
    wbuf_t w = {outbuf + HEAD_ROOM_BYTES, outbuf + sizeof(outbuf) - 1}; /* 1 left for '}' */
    W_LIT(&w, "4:from,");
    w_tstr(&w, myid, myid_len);
    W_LIT(&w, "2:id,");
    w_tstr(&w, s->id, s->id_len);
    W_LIT(&w, "3:seq,");
    char num[24];
    wbuf_t nw = {num, num + sizeof(num)};
    w_uint(&nw, s->out_seq++);
    w_uint(&w, (size_t)(nw.p - num));
    W_LIT(&w, ":");
    w_raw(&w, num, (size_t)(nw.p - num));
    W_LIT(&w, "#");
    return w;
}

static void w_int_field(wbuf_t *w, const char *key, size_t key_len, int64_t v) {
    char num[24];
    wbuf_t nw = {num, num + sizeof(num)};
    w_uint(&nw, (size_t)v);
    w_tstr(w, key, key_len);
    w_uint(w, (size_t)(nw.p - num));
    w_raw(w, ":", 1);
    w_raw(w, num, (size_t)(nw.p - num));
    w_raw(w, "#", 1);
}

static void packet_send(sess_t *s, wbuf_t *w) {
    char *map = outbuf + HEAD_ROOM_BYTES;
    size_t map_len = (size_t)(w->p - map);
    *w->p++ = '}';
    char head[HEAD_ROOM_BYTES];
    wbuf_t h = {head, head + sizeof(head)};
    w_raw(&h, s->addr, s->addr_len);
    w_raw(&h, " T", 2);
    w_uint(&h, map_len);
    w_raw(&h, ":", 1);
    size_t hl = (size_t)(h.p - head);
    char *start = map - hl;
    memcpy(start, head, hl);
    if (verbose && st.echoed < 4)
        fprintf(stderr, "OUT %.*s\n", (int)((size_t)(w->p - start) > 300 ? 300 : (size_t)(w->p - start)), start);
    while (zmq_send(pub, start, (size_t)(w->p - start), 0) < 0) {
        if (zmq_errno() != EINTR)
            die("send");
    }
}

static void send_credit(sess_t *s) {
    wbuf_t w = packet_begin(s);
    W_LIT(&w, "4:type,6:credit,");
    w_int_field(&w, "credits", 7, s->unreturned);
    s->unreturned = 0;
    st.credit_out++;
    packet_send(s, &w);
}

/* Received payload bytes count towards the next credit packet (zhttp.md 5.4). */
static void consumed(sess_t *s, size_t n) {
    s->unreturned += (uint32_t)n;
    if (s->unreturned >= CREDIT_RETURN_BYTES)
        send_credit(s);
}

static void send_echo(sess_t *s, const char *body, size_t n, int binary, int more) {
    wbuf_t w = packet_begin(s);
    if (binary)
        W_LIT(&w, "12:content-type,6:binary,");
    if (n)
        W_LIT(&w, "4:body,"), w_tstr(&w, body, n);
    if (more)
        W_LIT(&w, "4:more,4:true!");
    s->credits -= (int64_t)n;
    st.echoed++;
    st.echo_bytes += n;
    packet_send(s, &w);
}

/* Sends what waits, in pieces as large as the credits allow. */
static void pending_flush(sess_t *s) {
    pending_t *q = s->pend;
    while (q && q->piece_count > 0) {
        piece_t *pc = &q->pieces[q->piece_head];
        if (pc->len > 0 && s->credits <= 0)
            return;
        size_t n = pc->len;
        if ((int64_t)n > s->credits)
            n = (size_t)s->credits;
        if (n > ECHO_PACKET_BODY_MAX_BYTES)
            n = ECHO_PACKET_BODY_MAX_BYTES;
        int whole = n == pc->len;
        send_echo(s, q->bytes + q->off, n, pc->binary, whole ? pc->more : 1);
        q->off += (uint32_t)n;
        q->len -= (uint32_t)n;
        pc->len -= (uint32_t)n;
        if (whole) {
            q->piece_head = (q->piece_head + 1) % PENDING_PIECES_MAX;
            q->piece_count--;
        }
    }
    if (q && q->piece_count == 0)
        pending_release(s);
}

/* Echo bytes that do not fit the credits wait; a piece without body still keeps its place. */
static void pending_add(sess_t *s, const char *body, size_t n, int binary, int more) {
    if (!s->pend) {
        pending_t *q = free_pending;
        if (q)
            free_pending = q->next_free;
        else if (!(q = malloc(sizeof(*q)))) /* once per pending buffer, reused after */
            die("malloc");
        q->off = q->len = q->piece_head = q->piece_count = 0;
        s->pend = q;
    }
    pending_t *q = s->pend;
    if (q->piece_count == PENDING_PIECES_MAX || q->len + n > PENDING_SIZE_MAX_BYTES) {
        st.dropped++;
        return;
    }
    if (q->off + q->len + n > PENDING_SIZE_MAX_BYTES) {
        memmove(q->bytes, q->bytes + q->off, q->len);
        q->off = 0;
    }
    memcpy(q->bytes + q->off + q->len, body, n);
    q->len += (uint32_t)n;
    piece_t *pc = &q->pieces[(q->piece_head + q->piece_count) % PENDING_PIECES_MAX];
    pc->len = (uint32_t)n;
    pc->binary = (uint8_t)binary;
    pc->more = (uint8_t)more;
    q->piece_count++;
    st.pended++;
}

/* ------------------------------------------------------------------ packet handling */

static void on_new_request(const pkt_t *p) {
    if (p->from.len == 0 || p->from.len > ADDR_SIZE_MAX_BYTES) {
        st.bad++;
        return;
    }
    sess_t *s = sess_add(p->id.data, p->id.len);
    if (!s) {
        st.full++;
        return;
    }
    memcpy(s->addr, p->from.data, p->from.len);
    s->addr_len = (uint8_t)p->from.len;
    if (p->seq != 0)
        st.seq_errors++;
    s->in_seq = (uint32_t)p->seq + 1;
    s->credits = p->credits;
    int ws = p->uri.len >= 3 && memcmp(p->uri.data, "ws", 2) == 0 &&
             (p->uri.data[2] == ':' || p->uri.data[2] == 's');
    wbuf_t w = packet_begin(s);
    if (ws) {
        W_LIT(&w, "4:code,3:101#6:reason,19:Switching Protocols,");
        w_int_field(&w, "credits", 7, ACCEPT_CREDITS_BYTES);
        st.upgrades++;
        packet_send(s, &w);
        return;
    }
    /* plain HTTP (the readiness probe); a body, if any, is not read */
    W_LIT(&w, "4:code,3:200#6:reason,2:OK,7:headers,34:30:12:Content-Type,10:text/plain,]]4:body,3:ok\n,");
    st.plain++;
    packet_send(s, &w);
    sess_del(s);
}

/* A multi-id packet from the gateway (batched keep-alives, zhttp.md 4.8): each element
 * {id, seq} advances its own session's seq. */
static void on_id_list(const pkt_t *p) {
    const char *q = p->id.data, *end = p->id.data + p->id.len;
    while (q < end) {
        tn_t m;
        if (tn_parse(q, end, &m) != 0 || m.type != '}') {
            st.bad++;
            return;
        }
        pkt_t e;
        if (parse_packet(m.data, m.data + m.len, &e) == 0 && e.id.type == ',') {
            sess_t *s = sess_find(e.id.data, e.id.len);
            if (s && e.seq >= 0) {
                if (e.seq != s->in_seq)
                    st.seq_errors++;
                s->in_seq = (uint32_t)e.seq + 1;
            }
        }
        q = m.next;
    }
    st.keepalives++;
}

static void on_packet(const char *msg, size_t n) {
    tn_t root;
    pkt_t p;
    if (n < 2 || msg[0] != 'T' || tn_parse(msg + 1, msg + n, &root) != 0 || root.type != '}' ||
        parse_packet(root.data, root.data + root.len, &p) != 0) {
        st.bad++;
        return;
    }
    if (verbose && st.upgrades + st.echoed < 4)
        fprintf(stderr, "IN %.*s\n", (int)(n > 300 ? 300 : n), msg);
    if (p.id_is_list) {
        on_id_list(&p);
        return;
    }
    sess_t *s = sess_find(p.id.data, p.id.len);
    if (!s) {
        if (p.type.len == 0)
            on_new_request(&p);
        else
            st.unknown_session++; /* e.g. the cancel of a plain request we already answered */
        return;
    }
    if (p.seq >= 0) {
        if (p.seq != s->in_seq)
            st.seq_errors++;
        s->in_seq = (uint32_t)p.seq + 1;
    }
    if (p.credits > 0)
        s->credits += p.credits;
    if (p.from.len && p.from.len <= ADDR_SIZE_MAX_BYTES) { /* follow the gateway's address */
        memcpy(s->addr, p.from.data, p.from.len);
        s->addr_len = (uint8_t)p.from.len;
    }
    const tn_t *t = &p.type;
    if (t->len == 0) {
        int binary = p.ctype.len == 6 && memcmp(p.ctype.data, "binary", 6) == 0;
        st.data_in++;
        consumed(s, p.body.len);
        if (!s->pend && (int64_t)p.body.len <= s->credits)
            send_echo(s, p.body.data, p.body.len, binary, p.more);
        else {
            pending_add(s, p.body.data, p.body.len, binary, p.more);
            pending_flush(s);
        }
    } else if (t->len == 6 && memcmp(t->data, "credit", 6) == 0) {
        st.credit_in++;
        pending_flush(s);
    } else if (t->len == 5 && memcmp(t->data, "close", 5) == 0) {
        /* answer with the same code and reason: the gateway then closes TCP (zhttp.md 5.6) */
        st.closes++;
        pending_flush(s);
        wbuf_t w = packet_begin(s);
        W_LIT(&w, "4:type,5:close,");
        if (p.code >= 0) {
            w_int_field(&w, "code", 4, p.code);
            if (p.body.len)
                W_LIT(&w, "4:body,"), w_tstr(&w, p.body.data, p.body.len);
        }
        packet_send(s, &w);
        if (s->pend)
            st.dropped++; /* echo bytes the gateway gave no credits for before the close */
        sess_del(s);
    } else if (t->len == 4 && memcmp(t->data, "ping", 4) == 0) {
        st.pings++;
        consumed(s, p.body.len);
        if ((int64_t)p.body.len <= s->credits) {
            wbuf_t w = packet_begin(s);
            W_LIT(&w, "4:type,4:pong,");
            if (p.body.len)
                W_LIT(&w, "4:body,"), w_tstr(&w, p.body.data, p.body.len);
            s->credits -= (int64_t)p.body.len;
            packet_send(s, &w);
        }
    } else if (t->len == 4 && memcmp(t->data, "pong", 4) == 0) {
        st.pongs++;
        consumed(s, p.body.len);
    } else if ((t->len == 6 && memcmp(t->data, "cancel", 6) == 0) ||
               (t->len == 5 && memcmp(t->data, "error", 5) == 0)) {
        st.cancels++;
        sess_del(s);
    } else if (t->len == 10 && memcmp(t->data, "keep-alive", 10) == 0) {
        st.keepalives++;
    } else {
        st.bad++;
    }
}

/* ------------------------------------------------------------------ main loop */

/* One frame without waiting: its size, or -1 when nothing waits. */
static int recv_frame(void *sock, char *buf, size_t cap) {
    for (;;) {
        int n = zmq_recv(sock, buf, cap, ZMQ_DONTWAIT);
        if (n >= 0)
            return n;
        if (zmq_errno() == EAGAIN)
            return -1;
        if (zmq_errno() != EINTR)
            die("recv");
    }
}

/* Every waiting message: on the ROUTER its frames are [gateway identity] [""] [payload],
 * on the PULL just [payload]. */
static void drain(void *sock, int multipart) {
    for (;;) {
        int n = recv_frame(sock, inbuf, sizeof(inbuf));
        if (n < 0)
            return;
        int more = multipart;
        size_t ml = sizeof(more);
        while (more) {
            zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &ml);
            if (more && (n = recv_frame(sock, inbuf, sizeof(inbuf))) < 0)
                return; /* parts of one message arrive together: cannot happen */
        }
        if ((size_t)n > sizeof(inbuf)) {
            st.bad++;
            continue;
        }
        on_packet(inbuf, (size_t)n);
    }
}

int main(int argc, char **argv) {
    const char *base = NULL;
    myid = "bench-ws-echo";
    for (int i = 1; i < argc; i++) {
        if (opt_is(argv[i], "-v"))
            verbose = 1;
        else if (opt_is(argv[i], "--id") && i + 1 < argc)
            myid = argv[++i];
        else
            base = argv[i];
    }
    myid_len = strlen(myid);
    if (!base || myid_len == 0 || myid_len > ADDR_SIZE_MAX_BYTES) {
        fprintf(stderr, "usage: %s [-v] [--id NAME] BASE (e.g. ipc:///tmp/anchorA/zs)\n", argv[0]);
        return 2;
    }
    install_signals();

    char out_spec[512], stream_spec[512], in_spec[512];
    snprintf(out_spec, sizeof(out_spec), "%s-out", base);
    snprintf(stream_spec, sizeof(stream_spec), "%s-out-stream", base);
    snprintf(in_spec, sizeof(in_spec), "%s-in", base);

    void *ctx = zmq_ctx_new();
    void *pull = zmq_socket(ctx, ZMQ_PULL);
    void *router = zmq_socket(ctx, ZMQ_ROUTER);
    pub = zmq_socket(ctx, ZMQ_PUB);
    int zero = 0;
    zmq_setsockopt(pub, ZMQ_SNDHWM, &zero, sizeof(zero)); /* PUB drops at its HWM */
    zmq_setsockopt(pull, ZMQ_RCVHWM, &zero, sizeof(zero));
    zmq_setsockopt(router, ZMQ_RCVHWM, &zero, sizeof(zero));
    zmq_setsockopt(router, ZMQ_ROUTING_ID, myid, myid_len);
    void *socks[] = {pull, router, pub};
    for (int i = 0; i < 3; i++)
        zmq_setsockopt(socks[i], ZMQ_LINGER, &zero, sizeof(zero));
    if (zmq_connect(pull, out_spec) != 0) die("connect out");
    if (zmq_connect(router, stream_spec) != 0) die("connect out-stream");
    if (zmq_connect(pub, in_spec) != 0) die("connect in");
    fprintf(stderr, "zhttp_ws_echo_handler: PULL %s, ROUTER %s (id %s), PUB %s\n", out_spec,
            stream_spec, myid, in_spec);

    zmq_pollitem_t items[2] = {{pull, 0, ZMQ_POLLIN, 0}, {router, 0, ZMQ_POLLIN, 0}};
    while (!g_stop) {
        int r = zmq_poll(items, 2, POLL_TIMEOUT_MS);
        if (r < 0) {
            if (zmq_errno() == EINTR)
                continue;
            die("poll");
        }
        if (items[0].revents & ZMQ_POLLIN)
            drain(pull, 0);
        if (items[1].revents & ZMQ_POLLIN)
            drain(router, 1);
    }
    fprintf(stderr,
            "zhttp_ws_echo_handler: upgrades=%lu plain=%lu data_in=%lu echoed=%lu echo_bytes=%lu pended=%lu "
            "credit_in=%lu credit_out=%lu closes=%lu cancels=%lu pings=%lu pongs=%lu "
            "keepalives=%lu seq_errors=%lu unknown_session=%lu bad=%lu dropped=%lu full=%lu live=%lu\n",
            st.upgrades, st.plain, st.data_in, st.echoed, st.echo_bytes, st.pended, st.credit_in, st.credit_out,
            st.closes, st.cancels, st.pings, st.pongs, st.keepalives, st.seq_errors,
            st.unknown_session, st.bad, st.dropped, st.full, live);
    zmq_close(pull);
    zmq_close(router);
    zmq_close(pub);
    zmq_ctx_term(ctx);
    return 0;
}
