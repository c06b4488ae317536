/* sfu._rtp_send: the last step of forwarding one RTP packet, in one call.
 *
 * Linux (the struct sockaddr that sfu/native_send.py packs). Builds the
 * rewritten header in front of the payload, protects the packet
 * with libsrtp's srtp_protect (the function and session pylibsrtp already
 * holds, passed in as addresses) and sends it with one sendto(2) on the
 * subscriber's socket. Per forwarded packet this saves the Python-level
 * joins, copies and calls of the same three steps (docs/performance.md,
 * "Cheaper packets"). sfu/aiortc_bridge.py falls back to the Python steps
 * when this module was not built (sfu/native_send.py).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* pylibsrtp's buffer is 1500 bytes and leaves room for the longest trailer:
 * the same limit as sfu.aiortc_bridge.direct_protect. */
#define BUFFER_SIZE 1500
#define MAX_TRAILER 144

/* libsrtp 2: srtp_err_status_t srtp_protect(srtp_t, void *, int *). */
typedef int (*protect_fn)(void *session, void *packet, int *length);

/* What a failed protect raises: pylibsrtp.Error, as pylibsrtp's own
 * protect and sfu.aiortc_bridge.direct_protect do (set at import). */
static PyObject *srtp_error = NULL;

/* One SSRC's own srtp_t. */
typedef struct {
    uint32_t ssrc;
    void *srtp;
} SsrcSession;

typedef struct {
    PyObject_HEAD
    PyObject *sock;    /* the socket: its fileno() is asked each time (-1 once closed) */
    PyObject *owner; /* the owner of the srtp_t, kept alive while it is used */
    protect_fn protect;
    void *srtp;        /* one session for every SSRC, or NULL: a session per SSRC */
    /* With a session per SSRC: the ones added (add_session), searched in
     * order, and a list keeping their owners alive. libsrtp searches a
     * session's streams for each packet's SSRC; a session of one stream
     * makes that search one step (docs/performance.md). */
    SsrcSession *sessions;
    Py_ssize_t session_count, session_capacity;
    PyObject *session_owners;
    struct sockaddr_storage address;
    socklen_t address_length;
} RtpSender;

static void
RtpSender_dealloc(RtpSender *self)
{
    Py_XDECREF(self->sock);
    Py_XDECREF(self->owner);
    Py_XDECREF(self->session_owners);
    PyMem_Free(self->sessions);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* The srtp_t that protects ``ssrc``'s packets; NULL when the sender has a
 * session per SSRC and none for this one yet. */
static void *
session_for(RtpSender *self, uint32_t ssrc)
{
    if (self->srtp != NULL)
        return self->srtp;
    for (Py_ssize_t i = 0; i < self->session_count; i++)
        if (self->sessions[i].ssrc == ssrc)
            return self->sessions[i].srtp;
    return NULL;
}

/* RtpSender(sock, address: bytes (a struct sockaddr), protect: int, srtp: int, owner)
 *
 * ``protect`` and ``srtp`` are raw addresses (sfu.aiortc_bridge takes them
 * from pylibsrtp's cffi objects): like ctypes, a wrong one crashes the
 * process, so only that code makes senders. ``owner`` is whatever frees the
 * srtp_t (pylibsrtp's ffi.gc cell), kept alive while the sender lives.
 * ``srtp`` 0: a session per SSRC, each given with add_session. */
static int
RtpSender_init(RtpSender *self, PyObject *args, PyObject *kwds)
{
    PyObject *sock, *owner;
    const char *address;
    Py_ssize_t address_length;
    unsigned long long protect, srtp;
    static char *keywords[] = {"sock", "address", "protect", "srtp", "owner", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "Oy#KKO", keywords, &sock, &address,
                                     &address_length, &protect, &srtp, &owner))
        return -1;
    if (address_length <= 0 || (size_t)address_length > sizeof(self->address)) {
        PyErr_SetString(PyExc_ValueError, "address is not a struct sockaddr");
        return -1;
    }
    if (!protect) {
        PyErr_SetString(PyExc_ValueError, "protect must be an address");
        return -1;
    }
    memcpy(&self->address, address, (size_t)address_length);
    self->address_length = (socklen_t)address_length;
    self->protect = (protect_fn)(uintptr_t)protect;
    self->srtp = (void *)(uintptr_t)srtp;
    Py_INCREF(sock);
    Py_XSETREF(self->sock, sock);
    Py_INCREF(owner);
    Py_XSETREF(self->owner, owner);
    return 0;
}

/* add_session(ssrc, srtp: int, owner): protect ``ssrc``'s packets with the
 * srtp_t at address ``srtp`` (trusted as the constructor's), whose
 * ``owner`` is kept alive while the sender lives. Only for a sender made
 * with ``srtp`` 0; an SSRC given again gets the new session. */
static PyObject *
RtpSender_add_session(RtpSender *self, PyObject *args)
{
    unsigned long long ssrc, srtp;
    PyObject *owner;
    if (!PyArg_ParseTuple(args, "KKO", &ssrc, &srtp, &owner))
        return NULL;
    if (self->protect == NULL || self->srtp != NULL) {
        PyErr_SetString(PyExc_ValueError, "this sender protects with one session");
        return NULL;
    }
    if (ssrc > 0xFFFFFFFFULL || !srtp) {
        PyErr_SetString(PyExc_ValueError, "an SSRC and an srtp_t address are needed");
        return NULL;
    }
    if (self->session_owners == NULL && (self->session_owners = PyList_New(0)) == NULL)
        return NULL;
    if (PyList_Append(self->session_owners, owner))
        return NULL;
    for (Py_ssize_t i = 0; i < self->session_count; i++) {
        if (self->sessions[i].ssrc == (uint32_t)ssrc) {
            self->sessions[i].srtp = (void *)(uintptr_t)srtp;
            Py_RETURN_NONE;
        }
    }
    if (self->session_count == self->session_capacity) {
        Py_ssize_t capacity = self->session_capacity ? 2 * self->session_capacity : 8;
        SsrcSession *grown = PyMem_Realloc(self->sessions, (size_t)capacity * sizeof(SsrcSession));
        if (grown == NULL)
            return PyErr_NoMemory();
        self->sessions = grown;
        self->session_capacity = capacity;
    }
    self->sessions[self->session_count].ssrc = (uint32_t)ssrc;
    self->sessions[self->session_count].srtp = (void *)(uintptr_t)srtp;
    self->session_count++;
    Py_RETURN_NONE;
}

/* A header field of at most ``limit``: larger or negative ones raise
 * OverflowError (the Python steps' struct.pack raises struct.error). */
static int
as_field(PyObject *value, unsigned long limit, uint32_t *out)
{
    unsigned long v = PyLong_AsUnsignedLong(value);
    if (v == (unsigned long)-1 && PyErr_Occurred())
        return -1;
    if (v > limit) {
        PyErr_SetString(PyExc_OverflowError, "RTP header field out of range");
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

/* Write the rewritten packet into ``buffer``, protect it and send it.
 *
 * The extension block comes in three pieces (the slot's template around the
 * packet's varying value, then ``ext_zeros`` zero bytes of padding), so the
 * fan-out needs no join. Returns the packet's length before protection when
 * it went out, 0 when the socket's buffer was full (the packet is dropped,
 * never queued), NO_SESSION (nothing done, no exception) when the sender
 * has a session per SSRC and none for ``ssrc``, -1 with an exception set:
 * OSError for a closed socket or any other error of sendto, ValueError for
 * a packet too long for the buffer (as direct_protect does), pylibsrtp.Error
 * (with libsrtp's status) when protecting fails. */
#define NO_SESSION (-2)

static Py_ssize_t
send_packet(RtpSender *self, uint32_t b0, uint32_t b1, uint32_t seq, uint32_t ts, uint32_t ssrc,
            const char *ext, Py_ssize_t ext_length, const char *value, Py_ssize_t value_length,
            Py_ssize_t ext_zeros, const char *payload, Py_ssize_t payload_length)
{
    if (self->protect == NULL || self->sock == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "RtpSender was not initialised");
        return -1;
    }
    void *srtp = session_for(self, ssrc);
    if (srtp == NULL)
        return NO_SESSION;
    /* Each piece first, so that their sum cannot overflow. */
    Py_ssize_t limit = BUFFER_SIZE - MAX_TRAILER;
    if (ext_length < 0 || value_length < 0 || ext_zeros < 0 || payload_length < 0 ||
        ext_length > limit || value_length > limit || ext_zeros > limit || payload_length > limit ||
        12 + ext_length + value_length + ext_zeros + payload_length > limit) {
        PyErr_SetString(PyExc_ValueError, "packet is too long");
        return -1;
    }
    Py_ssize_t length = 12 + ext_length + value_length + ext_zeros + payload_length;
    unsigned char buffer[BUFFER_SIZE];
    buffer[0] = (unsigned char)b0;
    buffer[1] = (unsigned char)b1;
    buffer[2] = (unsigned char)(seq >> 8);
    buffer[3] = (unsigned char)seq;
    buffer[4] = (unsigned char)(ts >> 24);
    buffer[5] = (unsigned char)(ts >> 16);
    buffer[6] = (unsigned char)(ts >> 8);
    buffer[7] = (unsigned char)ts;
    buffer[8] = (unsigned char)(ssrc >> 24);
    buffer[9] = (unsigned char)(ssrc >> 16);
    buffer[10] = (unsigned char)(ssrc >> 8);
    buffer[11] = (unsigned char)ssrc;
    unsigned char *at = buffer + 12;
    memcpy(at, ext, (size_t)ext_length);
    at += ext_length;
    if (value_length)
        memcpy(at, value, (size_t)value_length);
    at += value_length;
    memset(at, 0, (size_t)ext_zeros);
    at += ext_zeros;
    memcpy(at, payload, (size_t)payload_length);

    int fd = PyObject_AsFileDescriptor(self->sock);
    if (fd < 0) {
        /* A closed socket's fileno() is -1 (ValueError here): EBADF, as its
         * sendto would raise. Anything else fileno() raised goes up as is. */
        if (!PyErr_ExceptionMatches(PyExc_ValueError))
            return -1;
        PyErr_Clear();
        errno = EBADF;
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    int protected_length = (int)length;
    int status = self->protect(srtp, buffer, &protected_length);
    if (status) {
        PyErr_Format(srtp_error, "srtp_protect failed (libsrtp status %d)", status);
        return -1;
    }
    /* Never blocks (MSG_DONTWAIT, whatever the socket's mode), so holding
     * the GIL for these few microseconds is cheaper than releasing it. A
     * signal is retried, as Python's sendto does (PEP 475). */
    ssize_t sent;
    do {
        sent = sendto(fd, buffer, (size_t)protected_length, MSG_DONTWAIT,
                      (struct sockaddr *)&self->address, self->address_length);
    } while (sent < 0 && errno == EINTR);
    if (sent < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    return length;
}

/* send(b0, b1, sequence_number, timestamp, ssrc, extensions, payload) -> int
 *
 * One packet, as send_packet: its length, or 0 when the socket's buffer
 * was full; raises as send_packet says, and KeyError (the SSRC) when the
 * sender has a session per SSRC and none for this one. */
static PyObject *
RtpSender_send(RtpSender *self, PyObject *const *args, Py_ssize_t nargs)
{
    uint32_t b0, b1, seq, ts, ssrc;
    if (nargs != 7) {
        PyErr_SetString(PyExc_TypeError, "send() takes 7 arguments");
        return NULL;
    }
    if (as_field(args[0], 0xFF, &b0) || as_field(args[1], 0xFF, &b1) ||
        as_field(args[2], 0xFFFF, &seq) || as_field(args[3], 0xFFFFFFFF, &ts) ||
        as_field(args[4], 0xFFFFFFFF, &ssrc))
        return NULL;
    if (!PyBytes_Check(args[5]) || !PyBytes_Check(args[6])) {
        PyErr_SetString(PyExc_TypeError, "extensions and payload must be bytes");
        return NULL;
    }
    Py_ssize_t sent = send_packet(self, b0, b1, seq, ts, ssrc, PyBytes_AS_STRING(args[5]),
                                  PyBytes_GET_SIZE(args[5]), NULL, 0, 0,
                                  PyBytes_AS_STRING(args[6]), PyBytes_GET_SIZE(args[6]));
    if (sent == NO_SESSION) {
        PyErr_SetObject(PyExc_KeyError, args[4]);
        return NULL;
    }
    return sent < 0 ? NULL : PyLong_FromSsize_t(sent);
}

static PyMethodDef RtpSender_methods[] = {
    {"send", (PyCFunction)(void (*)(void))RtpSender_send, METH_FASTCALL,
     "send(b0, b1, sequence_number, timestamp, ssrc, extensions, payload) -> int"},
    {"add_session", (PyCFunction)RtpSender_add_session, METH_VARARGS,
     "add_session(ssrc, srtp, owner): protect ssrc's packets with its own srtp_t"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject RtpSenderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "sfu._rtp_send.RtpSender",
    .tp_basicsize = sizeof(RtpSender),
    .tp_dealloc = (destructor)RtpSender_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Rewrites, protects and sends forwarded RTP packets on one socket.",
    .tp_methods = RtpSender_methods,
    .tp_init = (initproc)RtpSender_init,
    .tp_new = PyType_GenericNew,
};

/* ------------------------------------------------------------------ */
/* The fan-out: one call per incoming packet for all its consumers.     */
/* ------------------------------------------------------------------ */

/* The per-packet state of a send slot (sfu/send_slot.py's SendSlot is a
 * subclass): what the fan-out reads and writes for every packet, as C
 * fields the Python code reads and writes as attributes. */
typedef struct {
    PyObject_HEAD
    long long seq_offset, ts_offset, last_seq, last_ts;
    double last_wall;
    long long packets_sent, octets, ssrc;
    int payload_type;      /* -1 until a codec is negotiated */
    int varying;           /* VARYING_*: the extension value taken from the packet */
    PyObject *ext_plain;   /* bytes: the block without the varying value */
    PyObject *ext_prefix;  /* bytes: the block up to the varying value */
    long long ext_zeros;   /* padding after the varying value */
    PyObject *path;        /* sfu.aiortc_bridge.RtpSendPath */
    PyObject *stats;       /* sfu.stats.SfuStats */
} SlotBase;

#define VARYING_NONE 0
#define VARYING_AUDIO_LEVEL 1
#define VARYING_ABS_SEND_TIME 2

/* The per-packet state of a consumer (sfu/consumer.py's Consumer is a subclass). */
typedef struct {
    PyObject_HEAD
    char paused;
    PyObject *current_layer; /* None or the layer's index */
    long long packets_sent;
    PyObject *slot;          /* a SlotBase */
} ConsumerBase;

static int
SlotBase_traverse(SlotBase *self, visitproc visit, void *arg)
{
    Py_VISIT(self->ext_plain);
    Py_VISIT(self->ext_prefix);
    Py_VISIT(self->path);
    Py_VISIT(self->stats);
    return 0;
}

static int
SlotBase_clear(SlotBase *self)
{
    Py_CLEAR(self->ext_plain);
    Py_CLEAR(self->ext_prefix);
    Py_CLEAR(self->path);
    Py_CLEAR(self->stats);
    return 0;
}

static void
SlotBase_dealloc(SlotBase *self)
{
    PyObject_GC_UnTrack(self);
    SlotBase_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
SlotBase_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    SlotBase *self = (SlotBase *)type->tp_alloc(type, 0);
    if (self != NULL)
        self->payload_type = -1;
    return (PyObject *)self;
}

static PyMemberDef SlotBase_members[] = {
    {"_seq_offset", T_LONGLONG, offsetof(SlotBase, seq_offset), 0, NULL},
    {"_ts_offset", T_LONGLONG, offsetof(SlotBase, ts_offset), 0, NULL},
    {"_last_seq", T_LONGLONG, offsetof(SlotBase, last_seq), 0, NULL},
    {"_last_ts", T_LONGLONG, offsetof(SlotBase, last_ts), 0, NULL},
    {"_last_wall", T_DOUBLE, offsetof(SlotBase, last_wall), 0, NULL},
    {"packets_sent", T_LONGLONG, offsetof(SlotBase, packets_sent), 0, NULL},
    {"_octets", T_LONGLONG, offsetof(SlotBase, octets), 0, NULL},
    {"ssrc", T_LONGLONG, offsetof(SlotBase, ssrc), 0, NULL},
    {"_payload_type", T_INT, offsetof(SlotBase, payload_type), 0, NULL},
    {"_varying_kind", T_INT, offsetof(SlotBase, varying), 0, NULL},
    {"_ext_plain", T_OBJECT_EX, offsetof(SlotBase, ext_plain), 0, NULL},
    {"_ext_prefix", T_OBJECT_EX, offsetof(SlotBase, ext_prefix), 0, NULL},
    {"_ext_zeros", T_LONGLONG, offsetof(SlotBase, ext_zeros), 0, NULL},
    {"_path", T_OBJECT_EX, offsetof(SlotBase, path), 0, NULL},
    {"_stats", T_OBJECT_EX, offsetof(SlotBase, stats), 0, NULL},
    {NULL},
};

static PyTypeObject SlotBaseType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "sfu._rtp_send.SlotBase",
    .tp_basicsize = sizeof(SlotBase),
    .tp_dealloc = (destructor)SlotBase_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The per-packet fields of a send slot, read and written by fan_out.",
    .tp_traverse = (traverseproc)SlotBase_traverse,
    .tp_clear = (inquiry)SlotBase_clear,
    .tp_members = SlotBase_members,
    .tp_new = SlotBase_new,
};

static int
ConsumerBase_traverse(ConsumerBase *self, visitproc visit, void *arg)
{
    Py_VISIT(self->current_layer);
    Py_VISIT(self->slot);
    return 0;
}

static int
ConsumerBase_clear(ConsumerBase *self)
{
    Py_CLEAR(self->current_layer);
    Py_CLEAR(self->slot);
    return 0;
}

static void
ConsumerBase_dealloc(ConsumerBase *self)
{
    PyObject_GC_UnTrack(self);
    ConsumerBase_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMemberDef ConsumerBase_members[] = {
    {"paused", T_BOOL, offsetof(ConsumerBase, paused), 0, NULL},
    {"current_layer", T_OBJECT, offsetof(ConsumerBase, current_layer), 0, NULL},
    {"packets_sent", T_LONGLONG, offsetof(ConsumerBase, packets_sent), 0, NULL},
    {"slot", T_OBJECT_EX, offsetof(ConsumerBase, slot), 0, NULL},
    {NULL},
};

static PyTypeObject ConsumerBaseType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "sfu._rtp_send.ConsumerBase",
    .tp_basicsize = sizeof(ConsumerBase),
    .tp_dealloc = (destructor)ConsumerBase_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The per-packet fields of a consumer, read and written by fan_out.",
    .tp_traverse = (traverseproc)ConsumerBase_traverse,
    .tp_clear = (inquiry)ConsumerBase_clear,
    .tp_members = ConsumerBase_members,
    .tp_new = PyType_GenericNew,
};

/* The consumer class whose send() the fast path of fan_out does in C
 * (set_consumer_type); anything else gets its own send() called. */
static PyObject *consumer_type = NULL;

static PyObject *str_sequence_number, *str_timestamp, *str_padding, *str_marker, *str_payload,
    *str_abs_send_time, *str_audio_level, *str_native, *str_send, *str_send_failed,
    *str_reset, *str_packets_forwarded, *str_bytes_forwarded;

/* Add *packets and *octets to a stats object's forwarding counters, and
 * zero them first: whatever happens, nothing is counted twice. */
static int
count_forwarded(PyObject *stats, long long *pending_packets, long long *pending_octets)
{
    long long packets = *pending_packets, octets = *pending_octets;
    *pending_packets = *pending_octets = 0;
    if (stats == NULL || packets == 0)
        return 0;
    PyObject *names[2] = {str_packets_forwarded, str_bytes_forwarded};
    long long amounts[2] = {packets, octets};
    for (int i = 0; i < 2; i++) {
        PyObject *old = PyObject_GetAttr(stats, names[i]);
        if (old == NULL)
            return -1;
        PyObject *amount = PyLong_FromLongLong(amounts[i]);
        PyObject *sum = amount ? PyNumber_Add(old, amount) : NULL;
        Py_DECREF(old);
        Py_XDECREF(amount);
        if (sum == NULL)
            return -1;
        int failed = PyObject_SetAttr(stats, names[i], sum);
        Py_DECREF(sum);
        if (failed)
            return -1;
    }
    return 0;
}

/* The packet's fields every consumer shares, read once per fan-out. */
typedef struct {
    uint32_t seq, ts, b0, marker;
    PyObject *payload, *abs_send_time, *audio_level;
} Packet;

static int
read_packet(PyObject *view, Packet *packet)
{
    PyObject *values[4] = {NULL, NULL, NULL, NULL};
    PyObject *names[4] = {str_sequence_number, str_timestamp, str_padding, str_marker};
    uint32_t *fields[4] = {&packet->seq, &packet->ts, &packet->b0, &packet->marker};
    unsigned long limits[4] = {0xFFFF, 0xFFFFFFFF, 0xFF, 0xFF};
    int result = 0;
    for (int i = 0; i < 4 && result == 0; i++) {
        values[i] = PyObject_GetAttr(view, names[i]);
        result = values[i] == NULL ? -1 : as_field(values[i], limits[i], fields[i]);
    }
    for (int i = 0; i < 4; i++)
        Py_XDECREF(values[i]);
    if (result)
        return -1;
    packet->b0 |= 0x80;
    if ((packet->payload = PyObject_GetAttr(view, str_payload)) == NULL ||
        (packet->abs_send_time = PyObject_GetAttr(view, str_abs_send_time)) == NULL ||
        (packet->audio_level = PyObject_GetAttr(view, str_audio_level)) == NULL)
        return -1;
    if (!PyBytes_Check(packet->payload) || !PyBytes_Check(packet->abs_send_time)) {
        PyErr_SetString(PyExc_TypeError, "payload and abs_send_time must be bytes");
        return -1;
    }
    return 0;
}

/* The compiled sender of a send path (its ``_native``): a new reference,
 * or NULL without an exception when there is none (not resolved yet, the
 * Python steps, no such attribute), or NULL with one. */
static PyObject *
native_sender(PyObject *path)
{
    PyObject *native = PyObject_GetAttr(path, str_native);
    if (native == NULL) {
        if (PyErr_ExceptionMatches(PyExc_AttributeError))
            PyErr_Clear();
        return NULL;
    }
    if (!PyObject_TypeCheck(native, &RtpSenderType)) {
        Py_DECREF(native);
        return NULL;
    }
    return native;
}

/* True when the slot's fields are what its Python code would send with:
 * a negotiated payload type, an SSRC and an extension template that fit.
 * (Anything else is left to the Python steps, which raise or refuse it.) */
static int
slot_is_sendable(SlotBase *slot)
{
    return slot->payload_type >= 0 && slot->payload_type <= 0x7F && slot->ssrc >= 0 &&
           slot->ssrc <= 0xFFFFFFFFLL && slot->ext_zeros >= 0 && slot->ext_zeros <= 3 &&
           slot->path != NULL && slot->stats != NULL && slot->ext_plain != NULL &&
           slot->ext_prefix != NULL && PyBytes_Check(slot->ext_plain) &&
           PyBytes_Check(slot->ext_prefix);
}

/* What one consumer's send() does when it forwards ``packet`` on its
 * current layer through a resolved compiled sender: 1 if it did it
 * (sent, or not sent and handed to the consumer's _send_failed), 0 if
 * the consumer is not in that state (its own send() must run), -1 on an
 * error. Counts what went out for the caller's stats in *packets and
 * *octets. */
static int
forward(ConsumerBase *consumer, SlotBase *slot, Packet *packet, double now,
        long long *packets, long long *octets)
{
    if (!slot_is_sendable(slot))
        return 0;
    /* Held here: Python code (fileno(), reset(), _send_failed) may run. */
    PyObject *path = Py_NewRef(slot->path);
    PyObject *native = native_sender(path);
    if (native == NULL) {
        Py_DECREF(path);
        return PyErr_Occurred() ? -1 : 0;
    }
    uint32_t seq = (uint32_t)((packet->seq + (unsigned long long)slot->seq_offset) & 0xFFFF);
    uint32_t ts = (uint32_t)((packet->ts + (unsigned long long)slot->ts_offset) & 0xFFFFFFFF);
    const char *ext = PyBytes_AS_STRING(slot->ext_plain);
    Py_ssize_t ext_length = PyBytes_GET_SIZE(slot->ext_plain);
    const char *value = NULL;
    Py_ssize_t value_length = 0, zeros = 0;
    char level;
    int result = -1;
    if (slot->varying == VARYING_ABS_SEND_TIME ||
        (slot->varying == VARYING_AUDIO_LEVEL && packet->audio_level != Py_None)) {
        ext = PyBytes_AS_STRING(slot->ext_prefix);
        ext_length = PyBytes_GET_SIZE(slot->ext_prefix);
        zeros = (Py_ssize_t)slot->ext_zeros;
        if (slot->varying == VARYING_ABS_SEND_TIME) {
            value = PyBytes_AS_STRING(packet->abs_send_time);
            value_length = PyBytes_GET_SIZE(packet->abs_send_time);
        } else {
            uint32_t audio_level;
            if (as_field(packet->audio_level, 0x7F, &audio_level))
                goto done;
            level = (char)audio_level;
            value = &level;
            value_length = 1;
        }
    }
    uint32_t b0 = packet->b0 | (ext_length + value_length + zeros ? 0x10 : 0);
    uint32_t b1 = packet->marker | (uint32_t)slot->payload_type;
    Py_ssize_t sent = send_packet((RtpSender *)native, b0, b1, seq, ts, (uint32_t)slot->ssrc, ext,
                                  ext_length, value, value_length, zeros,
                                  PyBytes_AS_STRING(packet->payload),
                                  PyBytes_GET_SIZE(packet->payload));
    if (sent == NO_SESSION) {
        /* The slot's SSRC has no session yet: the Python steps make it. */
        result = 0;
        goto done;
    }
    if (sent > 0) {
        *packets += 1;
        *octets += sent;
        slot->packets_sent += 1;
        slot->octets += sent;
        consumer->packets_sent += 1;
        if (((seq - (uint32_t)slot->last_seq) & 0xFFFF) < 0x8000) {
            slot->last_seq = seq;
            slot->last_ts = ts;
            slot->last_wall = now;
        }
        result = 1;
        goto done;
    }
    if (sent < 0) {
        if (!PyErr_ExceptionMatches(PyExc_OSError))
            goto done;
        /* Closed or unreachable: resolve again next time (RtpSendPath.send_rewritten). */
        PyErr_Clear();
        PyObject *reset = PyObject_CallMethodNoArgs(path, str_reset);
        if (reset == NULL)
            goto done;
        Py_DECREF(reset);
    }
    PyObject *arguments[3] = {(PyObject *)consumer, NULL, NULL};
    arguments[1] = PyLong_FromUnsignedLong(seq);
    arguments[2] = PyLong_FromUnsignedLong(ts);
    PyObject *failed = NULL;
    if (arguments[1] != NULL && arguments[2] != NULL)
        failed = PyObject_VectorcallMethod(str_send_failed, arguments,
                                           3 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
    Py_XDECREF(arguments[1]);
    Py_XDECREF(arguments[2]);
    if (failed != NULL) {
        Py_DECREF(failed);
        result = 1;
    }
done:
    Py_DECREF(native);
    Py_DECREF(path);
    return result;
}

/* True when ``current`` (a consumer's current_layer) is the index ``layer``. */
static int
is_layer(PyObject *current, long layer)
{
    if (current == NULL || !PyLong_CheckExact(current))
        return 0;
    int overflow;
    long value = PyLong_AsLongAndOverflow(current, &overflow);
    return !overflow && value == layer;
}

/* Seconds on CLOCK_MONOTONIC (time.monotonic()'s and time.perf_counter()'s clock). */
static double
monotonic_now(void)
{
    struct timespec clock;
    clock_gettime(CLOCK_MONOTONIC, &clock);
    return (double)clock.tv_sec + (double)clock.tv_nsec * 1e-9;
}

/* fan_out(consumers, view, layer, times=None) -> None
 *
 * ``consumer.send(view, layer)`` for each consumer of the list, in order:
 * for consumers of the registered class (set_consumer_type) that forward
 * ``layer`` now through a slot with a resolved compiled sender, in C (the
 * rewrite, protect and send, the slot's numbers and counters, the stats'
 * forwarded counters); for anything else, its own send(). An error stops
 * the rest, as it would the Python loop. With a list ``times``, appends
 * the seconds from the call's start to the end of each consumer's send
 * (the forwarding latency the stats sample). */
static PyObject *
fan_out(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 3 || nargs > 4 || !PyList_Check(args[0]) || !PyLong_Check(args[2]) ||
        (nargs == 4 && args[3] != Py_None && !PyList_Check(args[3]))) {
        PyErr_SetString(PyExc_TypeError,
                        "fan_out(consumers: list, view, layer: int, times: list | None = None)");
        return NULL;
    }
    PyObject *consumers = args[0], *view = args[1], *layer_object = args[2];
    PyObject *times = nargs == 4 && args[3] != Py_None ? args[3] : NULL;
    int overflow;
    long layer = PyLong_AsLongAndOverflow(layer_object, &overflow);
    if (overflow || (layer == -1 && PyErr_Occurred())) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_OverflowError, "layer out of range");
        return NULL;
    }
    Packet packet = {0};
    PyObject *result = NULL;
    PyObject *stats = NULL; /* whose counters packets and octets are for */
    long long packets = 0, octets = 0;
    double now = monotonic_now();
    if (read_packet(view, &packet))
        goto done;
    Py_INCREF(consumers);
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(consumers); i++) {
        PyObject *item = Py_NewRef(PyList_GET_ITEM(consumers, i));
        int handled = 0;
        if (consumer_type != NULL && (PyObject *)Py_TYPE(item) == consumer_type) {
            ConsumerBase *consumer = (ConsumerBase *)item;
            if (consumer->paused) {
                handled = 1; /* Consumer.send returns at once */
            } else if (is_layer(consumer->current_layer, layer) && consumer->slot != NULL &&
                       PyObject_TypeCheck(consumer->slot, &SlotBaseType)) {
                SlotBase *slot = (SlotBase *)Py_NewRef(consumer->slot);
                if (slot->stats != stats) {
                    handled = count_forwarded(stats, &packets, &octets);
                    Py_XSETREF(stats, Py_XNewRef(slot->stats));
                }
                if (handled == 0)
                    handled = forward(consumer, slot, &packet, now, &packets, &octets);
                Py_DECREF(slot);
            }
        }
        if (handled == 0) {
            PyObject *call[3] = {item, view, layer_object};
            PyObject *done = PyObject_VectorcallMethod(str_send, call, 3, NULL);
            handled = done == NULL ? -1 : 1;
            Py_XDECREF(done);
        }
        Py_DECREF(item);
        if (handled < 0)
            break;
        if (times != NULL) {
            PyObject *elapsed = PyFloat_FromDouble(monotonic_now() - now);
            if (elapsed == NULL || PyList_Append(times, elapsed)) {
                Py_XDECREF(elapsed);
                break;
            }
            Py_DECREF(elapsed);
        }
    }
    if (PyErr_Occurred()) {
        /* Count what went out before the error, keeping the error. */
        PyObject *type, *value, *traceback;
        PyErr_Fetch(&type, &value, &traceback);
        if (count_forwarded(stats, &packets, &octets))
            PyErr_Clear();
        PyErr_Restore(type, value, traceback);
    } else if (count_forwarded(stats, &packets, &octets) == 0) {
        result = Py_NewRef(Py_None);
    }
    Py_XDECREF(stats);
    Py_DECREF(consumers);
done:
    Py_XDECREF(packet.payload);
    Py_XDECREF(packet.abs_send_time);
    Py_XDECREF(packet.audio_level);
    return result;
}

/* set_consumer_type(cls): the class whose send() fan_out does in C. */
static PyObject *
set_consumer_type(PyObject *module, PyObject *cls)
{
    if (!PyType_Check(cls) || !PyType_IsSubtype((PyTypeObject *)cls, &ConsumerBaseType)) {
        PyErr_SetString(PyExc_TypeError, "a subclass of ConsumerBase is needed");
        return NULL;
    }
    Py_XSETREF(consumer_type, Py_NewRef(cls));
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"fan_out", (PyCFunction)(void (*)(void))fan_out, METH_FASTCALL,
     "fan_out(consumers, view, layer, times=None): each consumer's send(view, layer)"},
    {"set_consumer_type", (PyCFunction)set_consumer_type, METH_O,
     "set_consumer_type(cls): the ConsumerBase subclass whose send() fan_out does in C"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    .m_base = PyModuleDef_HEAD_INIT,
    .m_name = "_rtp_send",
    .m_doc = "Rewrite, protect and send one forwarded RTP packet in one call.",
    .m_size = -1,
    .m_methods = module_methods,
};

static int
intern_names(void)
{
    struct {
        PyObject **name;
        const char *text;
    } names[] = {
        {&str_sequence_number, "sequence_number"}, {&str_timestamp, "timestamp"},
        {&str_padding, "padding"}, {&str_marker, "marker"}, {&str_payload, "payload"},
        {&str_abs_send_time, "abs_send_time"}, {&str_audio_level, "audio_level"},
        {&str_native, "_native"}, {&str_send, "send"}, {&str_send_failed, "_send_failed"},
        {&str_reset, "reset"}, {&str_packets_forwarded, "packets_forwarded"},
        {&str_bytes_forwarded, "bytes_forwarded"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        *names[i].name = PyUnicode_InternFromString(names[i].text);
        if (*names[i].name == NULL)
            return -1;
    }
    return 0;
}

PyMODINIT_FUNC
PyInit__rtp_send(void)
{
    PyObject *pylibsrtp = PyImport_ImportModule("pylibsrtp");
    if (pylibsrtp == NULL)
        return NULL;
    srtp_error = PyObject_GetAttrString(pylibsrtp, "Error");
    Py_DECREF(pylibsrtp);
    if (srtp_error == NULL)
        return NULL;
    if (intern_names() || PyType_Ready(&RtpSenderType) < 0 || PyType_Ready(&SlotBaseType) < 0 ||
        PyType_Ready(&ConsumerBaseType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "RtpSender", (PyObject *)&RtpSenderType) < 0 ||
        PyModule_AddObjectRef(m, "SlotBase", (PyObject *)&SlotBaseType) < 0 ||
        PyModule_AddObjectRef(m, "ConsumerBase", (PyObject *)&ConsumerBaseType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
