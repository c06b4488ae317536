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

/* pylibsrtp's buffer is 1500 bytes and leaves room for the longest trailer:
 * the same limit as sfu.aiortc_bridge.direct_protect. */
#define BUFFER_SIZE 1500
#define MAX_TRAILER 144

/* libsrtp 2: srtp_err_status_t srtp_protect(srtp_t, void *, int *). */
typedef int (*protect_fn)(void *session, void *packet, int *length);

typedef struct {
    PyObject_HEAD
    PyObject *sock;    /* the socket: its fileno() is asked each time (-1 once closed) */
    PyObject *owner; /* the owner of the srtp_t, kept alive while it is used */
    protect_fn protect;
    void *srtp;
    struct sockaddr_storage address;
    socklen_t address_length;
} RtpSender;

static void
RtpSender_dealloc(RtpSender *self)
{
    Py_XDECREF(self->sock);
    Py_XDECREF(self->owner);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* RtpSender(sock, address: bytes (a struct sockaddr), protect: int, srtp: int, owner)
 *
 * ``protect`` and ``srtp`` are raw addresses (sfu.aiortc_bridge takes them
 * from pylibsrtp's cffi objects): like ctypes, a wrong one crashes the
 * process, so only that code makes senders. ``owner`` is whatever frees the
 * srtp_t (pylibsrtp's ffi.gc cell), kept alive while the sender lives. */
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
    if (!protect || !srtp) {
        PyErr_SetString(PyExc_ValueError, "protect and srtp must be addresses");
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

/* send(b0, b1, sequence_number, timestamp, ssrc, extensions, payload) -> int
 *
 * The packet's length before protection when it went out; 0 when the
 * socket's buffer was full (the packet is dropped, never queued). Raises
 * OSError for a closed socket or any other error of sendto, ValueError for
 * a packet too long for the buffer (as direct_protect does) and
 * RuntimeError (with libsrtp's status) when protecting fails. */
static PyObject *
RtpSender_send(RtpSender *self, PyObject *const *args, Py_ssize_t nargs)
{
    uint32_t b0, b1, seq, ts, ssrc;
    if (nargs != 7) {
        PyErr_SetString(PyExc_TypeError, "send() takes 7 arguments");
        return NULL;
    }
    if (self->protect == NULL || self->sock == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "RtpSender was not initialised");
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
    Py_ssize_t ext_length = PyBytes_GET_SIZE(args[5]);
    Py_ssize_t payload_length = PyBytes_GET_SIZE(args[6]);
    Py_ssize_t length = 12 + ext_length + payload_length;
    if (length > BUFFER_SIZE - MAX_TRAILER) {
        PyErr_SetString(PyExc_ValueError, "packet is too long");
        return NULL;
    }
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
    memcpy(buffer + 12, PyBytes_AS_STRING(args[5]), (size_t)ext_length);
    memcpy(buffer + 12 + ext_length, PyBytes_AS_STRING(args[6]), (size_t)payload_length);

    int fd = PyObject_AsFileDescriptor(self->sock);
    if (fd < 0) {
        /* A closed socket's fileno() is -1 (ValueError here): EBADF, as its
         * sendto would raise. Anything else fileno() raised goes up as is. */
        if (!PyErr_ExceptionMatches(PyExc_ValueError))
            return NULL;
        PyErr_Clear();
        errno = EBADF;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    int protected_length = (int)length;
    int status = self->protect(self->srtp, buffer, &protected_length);
    if (status) {
        return PyErr_Format(PyExc_RuntimeError, "srtp_protect failed (libsrtp status %d)", status);
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
            return PyLong_FromLong(0);
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    return PyLong_FromSsize_t(length);
}

static PyMethodDef RtpSender_methods[] = {
    {"send", (PyCFunction)(void (*)(void))RtpSender_send, METH_FASTCALL,
     "send(b0, b1, sequence_number, timestamp, ssrc, extensions, payload) -> int"},
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

static struct PyModuleDef module = {
    .m_base = PyModuleDef_HEAD_INIT,
    .m_name = "_rtp_send",
    .m_doc = "Rewrite, protect and send one forwarded RTP packet in one call.",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__rtp_send(void)
{
    if (PyType_Ready(&RtpSenderType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&RtpSenderType);
    if (PyModule_AddObject(m, "RtpSender", (PyObject *)&RtpSenderType) < 0) {
        Py_DECREF(&RtpSenderType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
