/*
 * consensus._sha256d_native: the CPython face of the native sha256d nonce search.
 *
 *   search(header76: bytes, target: bytes, start: int, count: int, variant: str | None = None)
 *       -> int | None
 *   variants() -> tuple[str, ...]      the variants this CPU can run, fastest first
 *
 * `target` is the 256-bit target as 32 little-endian bytes.  The arguments are checked and
 * copied, then the GIL is released for the whole scan.  Python code should call this through
 * consensus.nonce_search, which also offers the pure-hashlib backend.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "sha256d.h"

typedef struct {
    const char *name;
    sd_search_fn fn;
} sd_variant;

#define SD_MAX_VARIANTS 3

typedef struct {
    sd_variant variants[SD_MAX_VARIANTS];
    int count;
} sd_state;

static sd_state *get_state(PyObject *module)
{
    return (sd_state *)PyModule_GetState(module);
}

static PyObject *py_search(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"header76", "target", "start", "count", "variant", NULL};
    const sd_state *state = get_state(module);
    Py_buffer header, target;
    long long start, count;
    const char *variant_name = NULL;
    sd_search_fn fn = NULL;
    sd_job job;
    uint32_t found = 0;
    int ok, i;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "y*y*LL|z:search", kwlist, &header, &target,
                                     &start, &count, &variant_name)) {
        return NULL;
    }
    if (header.len != 76 || target.len != 32) {
        PyErr_Format(PyExc_ValueError,
                     "header76 must be 76 bytes and target 32 bytes, got %zd and %zd",
                     header.len, target.len);
        goto fail;
    }
    if (start < 0 || count < 0 || start + count > 4294967296LL) {
        PyErr_Format(PyExc_ValueError,
                     "nonce range [%lld, %lld + %lld) must lie within [0, 2**32)", start, start,
                     count);
        goto fail;
    }
    if (variant_name == NULL) {
        fn = state->variants[0].fn;
    } else {
        for (i = 0; i < state->count; i++) {
            if (strcmp(state->variants[i].name, variant_name) == 0) {
                fn = state->variants[i].fn;
            }
        }
        if (fn == NULL) {
            PyErr_Format(PyExc_ValueError, "native variant '%s' is not available on this CPU",
                         variant_name);
            goto fail;
        }
    }
    sd_prepare_job(&job, (const unsigned char *)header.buf, (const unsigned char *)target.buf);
    PyBuffer_Release(&header);
    PyBuffer_Release(&target);

    Py_BEGIN_ALLOW_THREADS
    ok = fn(&job, (uint32_t)start, (uint64_t)count, &found);
    Py_END_ALLOW_THREADS

    if (ok) {
        return PyLong_FromUnsignedLong(found);
    }
    Py_RETURN_NONE;

fail:
    PyBuffer_Release(&header);
    PyBuffer_Release(&target);
    return NULL;
}

static PyObject *py_variants(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    const sd_state *state = get_state(module);
    PyObject *result = PyTuple_New(state->count);
    int i;

    if (result == NULL) {
        return NULL;
    }
    for (i = 0; i < state->count; i++) {
        PyObject *name = PyUnicode_FromString(state->variants[i].name);
        if (name == NULL) {
            Py_DECREF(result);
            return NULL;
        }
        PyTuple_SET_ITEM(result, i, name);
    }
    return result;
}

static int module_exec(PyObject *module)
{
    sd_state *state = get_state(module);
    state->count = 0;
#if SD_HAVE_X86
    if (sd_cpu_has_avx512()) {
        state->variants[state->count].name = "avx512-16way";
        state->variants[state->count].fn = sd_search_avx512;
        state->count++;
    }
    if (sd_cpu_has_shani()) {
        state->variants[state->count].name = SD_SHANI_NAME;
        state->variants[state->count].fn = sd_search_shani;
        state->count++;
    }
#endif
    state->variants[state->count].name = "portable";
    state->variants[state->count].fn = sd_search_portable;
    state->count++;
    return 0;
}

static PyMethodDef methods[] = {
    {"search", (PyCFunction)(void (*)(void))py_search, METH_VARARGS | METH_KEYWORDS,
     "search(header76, target, start, count, variant=None) -> int | None\n\n"
     "First nonce in [start, start + count) whose sha256d, as a little-endian integer, is <= "
     "the target (32 little-endian bytes); None if there is none.  Releases the GIL."},
    {"variants", py_variants, METH_NOARGS,
     "variants() -> tuple[str, ...]: the variants this CPU can run, fastest first."},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot slots[] = {
    {Py_mod_exec, (void *)module_exec},
    {0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    "consensus._sha256d_native",
    "Native sha256d nonce search (SHA-NI, AVX-512 or portable C); see consensus.nonce_search.",
    sizeof(sd_state),
    methods,
    slots,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC PyInit__sha256d_native(void)
{
    return PyModuleDef_Init(&module_def);
}
