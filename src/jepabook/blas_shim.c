/* Standard BLAS/LAPACK names forwarded to the OpenBLAS of the scipy-openblas32 wheel.
 *
 * MLX's Linux CPU wheel binds cblas_sgemm and a few LAPACK routines from a bundled reference BLAS.
 * The scipy-openblas32 wheel ships a fast OpenBLAS (32-bit integers, the same ABI) but exports
 * its symbols with a "scipy_" prefix. Loaded with RTLD_GLOBAL before MLX's first BLAS call, this
 * library puts the standard names in the process's global scope, so MLX's calls land in OpenBLAS.
 * Built by `python -m jepabook.blas install` (which `make venv` runs); see jepabook/blas.py.
 *
 * The three gemms are C wrappers that also count their calls, so a test can prove MLX uses them.
 * The LAPACK routines are tail jumps, which pass every argument (Fortran's hidden string lengths
 * included) through untouched, whatever the caller's prototype.
 */
#include <stdint.h>

typedef int blasint;

void scipy_cblas_sgemm(int, int, int, blasint, blasint, blasint, float, const float *, blasint,
                       const float *, blasint, float, float *, blasint);
void scipy_cblas_dgemm(int, int, int, blasint, blasint, blasint, double, const double *, blasint,
                       const double *, blasint, double, double *, blasint);
void scipy_cblas_cgemm(int, int, int, blasint, blasint, blasint, const void *, const void *, blasint,
                       const void *, blasint, const void *, void *, blasint);
void scipy_openblas_set_num_threads(int);
int scipy_openblas_get_num_threads(void);
char *scipy_openblas_get_corename(void);
char *scipy_openblas_get_config(void);

static uint64_t gemm_calls;

void cblas_sgemm(int order, int ta, int tb, blasint m, blasint n, blasint k, float alpha,
                 const float *a, blasint lda, const float *b, blasint ldb, float beta, float *c,
                 blasint ldc) {
    __atomic_fetch_add(&gemm_calls, 1, __ATOMIC_RELAXED);
    scipy_cblas_sgemm(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void cblas_dgemm(int order, int ta, int tb, blasint m, blasint n, blasint k, double alpha,
                 const double *a, blasint lda, const double *b, blasint ldb, double beta, double *c,
                 blasint ldc) {
    __atomic_fetch_add(&gemm_calls, 1, __ATOMIC_RELAXED);
    scipy_cblas_dgemm(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void cblas_cgemm(int order, int ta, int tb, blasint m, blasint n, blasint k, const void *alpha,
                 const void *a, blasint lda, const void *b, blasint ldb, const void *beta, void *c,
                 blasint ldc) {
    __atomic_fetch_add(&gemm_calls, 1, __ATOMIC_RELAXED);
    scipy_cblas_cgemm(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

uint64_t jepabook_blas_gemm_calls(void) { return __atomic_load_n(&gemm_calls, __ATOMIC_RELAXED); }
void jepabook_blas_set_num_threads(int n) { scipy_openblas_set_num_threads(n); }
int jepabook_blas_get_num_threads(void) { return scipy_openblas_get_num_threads(); }
const char *jepabook_blas_corename(void) { return scipy_openblas_get_corename(); }
const char *jepabook_blas_config(void) { return scipy_openblas_get_config(); }

#if defined(__x86_64__)
#define FORWARD(name)                                                                           \
    __asm__(".text\n.globl " #name "\n.type " #name ",@function\n" #name ":\n\tendbr64\n"       \
            "\tjmp scipy_" #name "@PLT\n.size " #name ",.-" #name "\n");
#elif defined(__aarch64__)
#define FORWARD(name)                                                                           \
    __asm__(".text\n.globl " #name "\n.type " #name ",%function\n" #name ":\n"                  \
            "\tb scipy_" #name "\n.size " #name ",.-" #name "\n");
#else
#error "jepabook's BLAS shim supports x86_64 and aarch64 Linux only"
#endif

/* The LAPACK routines libmlx.so imports (nm -D --undefined-only libmlx.so, MLX 0.32). */
FORWARD(sgesdd_) FORWARD(dgesdd_) FORWARD(cgesdd_)
FORWARD(sgetrf_) FORWARD(dgetrf_) FORWARD(sgetri_) FORWARD(dgetri_)
FORWARD(sgeqrf_) FORWARD(dgeqrf_) FORWARD(sorgqr_) FORWARD(dorgqr_)
FORWARD(spotrf_) FORWARD(dpotrf_) FORWARD(strtri_) FORWARD(dtrtri_)
FORWARD(ssyevd_) FORWARD(dsyevd_) FORWARD(cheevd_)
FORWARD(sgeev_) FORWARD(dgeev_) FORWARD(cgeev_)
