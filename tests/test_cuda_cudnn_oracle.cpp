// A second, independent oracle for the CUDA convolution and dense kernels
// (kernels/cuda/conv_dense.h): NVIDIA's cuDNN computes conv2d forward, backward-data and
// backward-weight (+ bias gradient), and cuBLAS computes the dense layer forward and
// backward, on the same random inputs (never zeros).  test_backend_ops checks the
// kernels against our own scalar CPU reference; a bug shared by that reference and the
// kernels (a misread layout, an off-by-one in the padding rule) would pass there and fails
// here.  Every output (y, dx, dw, db) must satisfy ||ours - oracle|| / ||oracle|| < 1e-5.
//
// Neither library is linked in: the test binary must start on machines without them.
// Both are dlopen'ed at run time; their headers supply types, enums and prototypes only.
// Where they are looked for, first hit wins:
//   cuDNN:  $FLOWPIC_CUDNN_DIR/libcudnn.so.9, $FLOWPIC_CUDNN_DIR/libcudnn.so, then
//           libcudnn.so.9, libcudnn.so by the loader's search (LD_LIBRARY_PATH, the
//           binary's RUNPATH $(CUDA_HOME)/lib64, ld.so.cache)
//   cuBLAS: $FLOWPIC_CUBLAS_DIR/ likewise with libcublas.so.13, libcublas.so, libcublas.so.12
// Without one, its test case is skipped ("skipped: cuDNN not found (set FLOWPIC_CUDNN_DIR)"),
// and without a CUDA device the whole suite is ("skipped: no CUDA device").
//
// cuDNN installed only as a Python wheel (e.g. nvidia-cudnn-cu12/-cu13, which PyTorch pulls
// in), cuBLAS from the toolkit or a wheel:
//   export FLOWPIC_CUDNN_DIR=$(python3 -c 'import nvidia.cudnn,os;print(os.path.join(list(nvidia.cudnn.__path__)[0],"lib"))')
//   export FLOWPIC_CUBLAS_DIR=/usr/local/cuda/lib64
//   ./build/bin/flowpic-tests --run_test=cuda_cudnn_oracle --log_level=message
// (`find / -name 'libcudnn.so.9*' -o -name 'libcublas.so.1[23]*' 2>/dev/null` finds them
// otherwise; CUDA 13 wheels put cuBLAS in site-packages/nvidia/cu13/lib.)  --log_level=message
// prints every relative error, the libraries loaded and the algorithms cuDNN ran.
//
// Full fp32 throughout: cuDNN convolutions run with CUDNN_FMA_MATH (no TF32) and fixed
// GEMM-type algorithms (forward IMPLICIT_GEMM, backward ALGO_1, the next of that family if
// cuDNN refuses one, its *_v7 heuristics' choice only if it refuses them all; the log names
// the one that ran), workspaces sized by cuDNN's own query; cuBLAS runs with
// CUBLAS_PEDANTIC_MATH.  How the oracle fits cuDNN to our conventions:
//  * Padding.  Ours may be asymmetric (Keras 'same' puts total/2 before and the rest after)
//    and 'valid' may leave image rows after the last window unread; cuDNN pads
//    symmetrically only.  So cuDNN never pads here: the input is zero-padded on the host to
//    exactly the extent the windows cover, Hp = (P-1)*stride + R rows (pad_top zero rows,
//    the image, zero rows -- or the image cut where 'valid' leaves rows unread), likewise
//    Wp, and cuDNN runs an unpadded convolution on that.  Forward and backward-weight then
//    see exactly our taps; backward-data yields the gradient of the padded image, whose
//    window at (pad_top, pad_left) is dx, and image rows/columns beyond Hp/Wp (read by no
//    window) have dx = 0.
//  * Long reductions.  dw and db sum over N*P*Q positions, 180,000 for FlowPicNet conv1 at
//    batch 2; one fp32 accumulator running that long is off by ~8e-6 relative by itself,
//    too close to the tolerance for an oracle.  So backward-weight is called on bands of
//    at most kMaxTermsPerCall output positions (one image, a run of output rows, with the
//    input rows they read) and the bands' partial dw and db are summed in double.
// The host only copies, pads, crops and adds up band partials; every product is cuDNN's or
// cuBLAS's.
#ifdef FLOWPIC_CUDA
#include "tests/cuda_test.h"

#include <cublas_v2.h>
#include <cudnn.h>
#include <dlfcn.h>

#include <cstdlib>
#include <initializer_list>
#include <set>
#include <utility>

#include "kernels/cuda/check.h"
#include "kernels/cuda/conv_dense.h"
#include "tests/op_check.h"

using namespace flowpic;

namespace {

// Output positions (terms of each dw sum) per backward-weight call; see the header comment.
constexpr int kMaxTermsPerCall = 4096;

// ---- the libraries, loaded at run time ------------------------------------------------

// The functions used, each declared as a pointer of the header's own type.
#define FLOWPIC_CUDNN_FUNCTIONS(X)                                                            \
    X(cudnnGetVersion) X(cudnnGetCudartVersion) X(cudnnGetErrorString) X(cudnnGetLastErrorString) \
    X(cudnnCreate) X(cudnnDestroy)                                                             \
    X(cudnnCreateTensorDescriptor) X(cudnnSetTensor4dDescriptor) X(cudnnDestroyTensorDescriptor) \
    X(cudnnCreateFilterDescriptor) X(cudnnSetFilter4dDescriptor) X(cudnnDestroyFilterDescriptor) \
    X(cudnnCreateConvolutionDescriptor) X(cudnnSetConvolution2dDescriptor)                     \
    X(cudnnSetConvolutionMathType) X(cudnnDestroyConvolutionDescriptor)                        \
    X(cudnnGetConvolution2dForwardOutputDim)                                                   \
    X(cudnnGetConvolutionForwardAlgorithm_v7) X(cudnnGetConvolutionForwardWorkspaceSize)       \
    X(cudnnConvolutionForward) X(cudnnAddTensor)                                               \
    X(cudnnGetConvolutionBackwardDataAlgorithm_v7) X(cudnnGetConvolutionBackwardDataWorkspaceSize) \
    X(cudnnConvolutionBackwardData)                                                            \
    X(cudnnGetConvolutionBackwardFilterAlgorithm_v7)                                           \
    X(cudnnGetConvolutionBackwardFilterWorkspaceSize) X(cudnnConvolutionBackwardFilter)        \
    X(cudnnConvolutionBackwardBias)
// The real symbol names (cublas_v2.h maps cublasCreate etc. onto these).
#define FLOWPIC_CUBLAS_FUNCTIONS(X)                                                  \
    X(cublasCreate_v2) X(cublasDestroy_v2) X(cublasGetVersion_v2) X(cublasSetMathMode) \
    X(cublasGetStatusString) X(cublasSgemm_v2) X(cublasSgemv_v2)

namespace dyn {
#define FLOWPIC_DECLARE(f) decltype(&::f) f = nullptr;
FLOWPIC_CUDNN_FUNCTIONS(FLOWPIC_DECLARE)
FLOWPIC_CUBLAS_FUNCTIONS(FLOWPIC_DECLARE)
#undef FLOWPIC_DECLARE
}  // namespace dyn

struct Library {
    bool ok = false;
    std::string headline;  // why not, in one line ("cuDNN not found (set FLOWPIC_CUDNN_DIR)")
    std::string details;   // what was tried; or, when ok, the version and file loaded
};

// dlopen the first of `names` that loads, from $env_dir first when it is set.
void* open_first(const char* env_dir, std::initializer_list<const char*> names, std::string& tried) {
    std::vector<std::string> paths;
    if (const char* dir = std::getenv(env_dir); dir && *dir)
        for (const char* n : names) paths.push_back(std::string(dir) + "/" + n);
    for (const char* n : names) paths.push_back(n);
    for (const std::string& p : paths) {
        if (void* h = dlopen(p.c_str(), RTLD_NOW | RTLD_LOCAL)) return h;
        const char* e = dlerror();
        tried += "\n  " + p + ": " + (e ? e : "dlopen failed");
    }
    return nullptr;
}

std::string file_of(const void* symbol) {
    Dl_info info{};
    return dladdr(symbol, &info) && info.dli_fname ? info.dli_fname : "?";
}

// Resolves every function of the list; the first missing one is named in `missing`.
#define FLOWPIC_RESOLVE(f) \
    if (missing.empty() && !(dyn::f = reinterpret_cast<decltype(dyn::f)>(dlsym(h, #f)))) missing = #f;

Library load_cudnn() {
    Library lib;
    lib.headline = "cuDNN not found (set FLOWPIC_CUDNN_DIR)";
    void* h = open_first("FLOWPIC_CUDNN_DIR", {"libcudnn.so.9", "libcudnn.so"}, lib.details);
    if (!h) return lib;
    std::string missing;
    FLOWPIC_CUDNN_FUNCTIONS(FLOWPIC_RESOLVE)
    const std::string file = file_of(dlsym(h, "cudnnCreate"));
    if (!missing.empty()) {
        lib.headline = "cuDNN at " + file + " lacks " + missing;
        return lib;
    }
    const size_t version = dyn::cudnnGetVersion();  // 9.x.y is 90000 + 100 x + y
    if (version < 90000 || version >= 100000) {
        lib.headline = "cuDNN at " + file + " is version " + std::to_string(version) +
                       "; this test needs cuDNN 9 (set FLOWPIC_CUDNN_DIR)";
        return lib;
    }
    lib.ok = true;
    lib.details = "cuDNN " + std::to_string(version) + " (built for cudart " +
                  std::to_string(dyn::cudnnGetCudartVersion()) + ") from " + file;
    return lib;
}

Library load_cublas() {
    Library lib;
    lib.headline = "cuBLAS not found (set FLOWPIC_CUBLAS_DIR)";
    void* h = open_first("FLOWPIC_CUBLAS_DIR", {"libcublas.so.13", "libcublas.so", "libcublas.so.12"}, lib.details);
    if (!h) return lib;
    std::string missing;
    FLOWPIC_CUBLAS_FUNCTIONS(FLOWPIC_RESOLVE)
    const std::string file = file_of(dlsym(h, "cublasCreate_v2"));
    if (!missing.empty()) {
        lib.headline = "cuBLAS at " + file + " lacks " + missing;
        return lib;
    }
    lib.ok = true;
    lib.details = "cuBLAS from " + file;
    return lib;
}
#undef FLOWPIC_RESOLVE

const Library& cudnn_library() {
    static const Library lib = load_cudnn();
    return lib;
}
const Library& cublas_library() {
    static const Library lib = load_cublas();
    return lib;
}

// Boost preconditions, as tests/cuda_available.h: skipped, saying why, without the library.
struct LibraryPresent {
    const Library& (*library)();
    boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) {
        const Library& lib = library();
        boost::test_tools::assertion_result r(lib.ok);
        if (!r) {
            r.message() << lib.headline << lib.details;
            std::printf("skipped: %s\n", lib.headline.c_str());
        }
        return r;
    }
};

// ---- status checks: a failure throws, naming the call ---------------------------------

void cudnn_check(cudnnStatus_t st, const std::string& call) {
    if (st == CUDNN_STATUS_SUCCESS) return;
    char detail[512] = "";
    dyn::cudnnGetLastErrorString(detail, sizeof detail);
    throw std::runtime_error(call + ": " + dyn::cudnnGetErrorString(st) + " (" + std::to_string(int(st)) + ")" +
                             (detail[0] ? std::string(": ") + detail : std::string()));
}
void cublas_check(cublasStatus_t st, const std::string& call) {
    if (st != CUBLAS_STATUS_SUCCESS)
        throw std::runtime_error(call + ": " + dyn::cublasGetStatusString(st) + " (" + std::to_string(int(st)) + ")");
}
#define CUDNN_CHECK(call) cudnn_check((call), #call)
#define CUBLAS_CHECK(call) cublas_check((call), #call)
// Destructors cannot throw: a failed destroy is recorded as a test error instead.
#define CHECK_IN_DESTRUCTOR(call, ok) BOOST_CHECK_MESSAGE((call) == (ok), #call " failed")

// ---- host helpers ----------------------------------------------------------------------

std::vector<double> to_double(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

// ---- convolution through cuDNN -------------------------------------------------------

struct ConvProblem {
    Conv2dShape s;
    std::vector<float> x, w, b, dy;
    ConvProblem(const Conv2dShape& shape, uint64_t seed)
        : s(shape),
          x(random_vec<float>(size_t(conv2d_x_size(s)), mix_seed(seed, 1))),
          w(random_vec<float>(size_t(conv2d_w_size(s)), mix_seed(seed, 2))),
          b(random_vec<float>(size_t(s.k), mix_seed(seed, 3))),
          dy(random_vec<float>(size_t(conv2d_y_size(s)), mix_seed(seed, 4))) {}
};

struct ConvResult {
    std::vector<double> y, dx, dw, db;
};

// The descriptors of one unpadded convolution u (pad_top = pad_left = 0).
struct ConvDescriptors {
    cudnnTensorDescriptor_t x = nullptr, y = nullptr, bias = nullptr;
    cudnnFilterDescriptor_t w = nullptr;
    cudnnConvolutionDescriptor_t conv = nullptr;

    ConvDescriptors() = default;
    ConvDescriptors(const ConvDescriptors&) = delete;
    ConvDescriptors& operator=(const ConvDescriptors&) = delete;
    ~ConvDescriptors() {
        for (cudnnTensorDescriptor_t t : {x, y, bias})
            if (t) CHECK_IN_DESTRUCTOR(dyn::cudnnDestroyTensorDescriptor(t), CUDNN_STATUS_SUCCESS);
        if (w) CHECK_IN_DESTRUCTOR(dyn::cudnnDestroyFilterDescriptor(w), CUDNN_STATUS_SUCCESS);
        if (conv) CHECK_IN_DESTRUCTOR(dyn::cudnnDestroyConvolutionDescriptor(conv), CUDNN_STATUS_SUCCESS);
    }

    void set(const Conv2dShape& u) {
        CUDNN_CHECK(dyn::cudnnCreateTensorDescriptor(&x));
        CUDNN_CHECK(dyn::cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, u.n, u.c, u.h, u.w));
        CUDNN_CHECK(dyn::cudnnCreateTensorDescriptor(&y));
        CUDNN_CHECK(dyn::cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, u.n, u.k, u.p, u.q));
        CUDNN_CHECK(dyn::cudnnCreateTensorDescriptor(&bias));
        CUDNN_CHECK(dyn::cudnnSetTensor4dDescriptor(bias, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, u.k, 1, 1));
        CUDNN_CHECK(dyn::cudnnCreateFilterDescriptor(&w));
        CUDNN_CHECK(dyn::cudnnSetFilter4dDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, u.k, u.c, u.r, u.s));
        CUDNN_CHECK(dyn::cudnnCreateConvolutionDescriptor(&conv));
        CUDNN_CHECK(dyn::cudnnSetConvolution2dDescriptor(conv, 0, 0, u.stride, u.stride, 1, 1,
                                                         CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
        CUDNN_CHECK(dyn::cudnnSetConvolutionMathType(conv, CUDNN_FMA_MATH));  // no TF32
        int n = 0, k = 0, p = 0, q = 0;
        CUDNN_CHECK(dyn::cudnnGetConvolution2dForwardOutputDim(conv, x, w, &n, &k, &p, &q));
        if (n != u.n || k != u.k || p != u.p || q != u.q)
            throw std::runtime_error("cuDNN's output " + std::to_string(n) + "x" + std::to_string(k) + "x" +
                                     std::to_string(p) + "x" + std::to_string(q) + " differs from ours " +
                                     std::to_string(u.n) + "x" + std::to_string(u.k) + "x" + std::to_string(u.p) +
                                     "x" + std::to_string(u.q));
    }
};

bool not_supported(cudnnStatus_t st) { return CUDNN_STATUS_CATEGORY(st) == CUDNN_STATUS_NOT_SUPPORTED; }

// The algorithms a *_v7 heuristic query ranked usable, best first.
template <typename Perf>
auto usable_algos(const Perf* perf, int count) {
    std::vector<decltype(perf->algo)> algos;
    for (int i = 0; i < count; ++i)
        if (perf[i].status == CUDNN_STATUS_SUCCESS) algos.push_back(perf[i].algo);
    return algos;
}

// Runs one cuDNN convolution call with the first algorithm it supports for this problem,
// with the workspace its size query asks for: the fixed FMA GEMM-type `preferred` ones in
// order, then, only if cuDNN refuses all of those, whatever its *_v7 heuristics rank
// usable.  NOT_SUPPORTED (from the query or the call) moves on to the next algorithm; any
// other failure throws.  Returns the name of the algorithm that ran.
template <typename Algo, typename Heuristic, typename Query, typename Run>
std::string run_first_supported(const std::string& op, std::initializer_list<std::pair<Algo, const char*>> preferred,
                                Heuristic heuristic, Query workspace_size, Run run) {
    std::string refused;
    auto attempt = [&](Algo algo, const std::string& name) {
        size_t bytes = 0;
        cudnnStatus_t st = workspace_size(algo, &bytes);
        if (!not_supported(st)) {
            cudnn_check(st, op + " workspace size query, " + name);
            DeviceBuffer<unsigned char> work(bytes);
            st = run(algo, static_cast<void*>(work.get()), bytes);
            if (!not_supported(st)) {
                cudnn_check(st, op + ", " + name);
                CUDA_CHECK(cudaDeviceSynchronize());  // done with the workspace before it is freed
                return true;
            }
        }
        refused += (refused.empty() ? "" : ", ") + name + ": " + dyn::cudnnGetErrorString(st);
        return false;
    };
    for (const auto& [algo, name] : preferred)
        if (attempt(algo, name)) return name;
    std::vector<Algo> ranked;
    try {
        ranked = heuristic();
    } catch (const std::exception& e) {
        throw std::runtime_error(std::string(e.what()) + " (after " + op + " refused " + refused + ")");
    }
    for (Algo algo : ranked) {
        bool tried = false;
        for (const auto& p : preferred) tried = tried || p.first == algo;
        const std::string name = "algo " + std::to_string(int(algo)) + " (from cuDNN's heuristics)";
        if (!tried && attempt(algo, name)) return name;
    }
    throw std::runtime_error(op + ": no algorithm supported (" + refused + ")");
}

// cuDNN on unpadded shapes, host vectors in and out.
class CudnnConv {
public:
    CudnnConv() { CUDNN_CHECK(dyn::cudnnCreate(&handle_)); }
    ~CudnnConv() {
        if (handle_) CHECK_IN_DESTRUCTOR(dyn::cudnnDestroy(handle_), CUDNN_STATUS_SUCCESS);
    }
    CudnnConv(const CudnnConv&) = delete;
    CudnnConv& operator=(const CudnnConv&) = delete;

    // y = conv(x, w) + b.
    std::vector<float> forward(const Conv2dShape& u, const std::vector<float>& x, const std::vector<float>& w,
                               const std::vector<float>& b) {
        ConvDescriptors d;
        d.set(u);
        auto xd = on_device(x), wd = on_device(w), bd = on_device(b);
        auto yd = poisoned_device(conv2d_y_size(u));
        const float one = 1, zero = 0;
        used_.insert("forward " + run_first_supported<cudnnConvolutionFwdAlgo_t>(
            "cudnnConvolutionForward",
            {{CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, "IMPLICIT_GEMM"},
             {CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, "IMPLICIT_PRECOMP_GEMM"},
             {CUDNN_CONVOLUTION_FWD_ALGO_GEMM, "GEMM"}},
            [&] {
                cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
                int count = 0;
                CUDNN_CHECK(dyn::cudnnGetConvolutionForwardAlgorithm_v7(handle_, d.x, d.w, d.conv, d.y,
                                                                        CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &count, perf));
                return usable_algos(perf, count);
            },
            [&](cudnnConvolutionFwdAlgo_t a, size_t* bytes) {
                return dyn::cudnnGetConvolutionForwardWorkspaceSize(handle_, d.x, d.w, d.conv, d.y, a, bytes);
            },
            [&](cudnnConvolutionFwdAlgo_t a, void* work, size_t bytes) {
                return dyn::cudnnConvolutionForward(handle_, &one, d.x, xd.get(), d.w, wd.get(), d.conv, a, work,
                                                    bytes, &zero, d.y, yd.get());
            }));
        CUDNN_CHECK(dyn::cudnnAddTensor(handle_, &one, d.bias, bd.get(), &one, d.y, yd.get()));
        return fetch(yd, conv2d_y_size(u));
    }

    // dx = dL/dx (of the unpadded input u describes) given dy.
    std::vector<float> backward_data(const Conv2dShape& u, const std::vector<float>& dy, const std::vector<float>& w) {
        ConvDescriptors d;
        d.set(u);
        auto dyd = on_device(dy), wd = on_device(w);
        auto dxd = poisoned_device(conv2d_x_size(u));
        const float one = 1, zero = 0;
        used_.insert("backward-data " + run_first_supported<cudnnConvolutionBwdDataAlgo_t>(
            "cudnnConvolutionBackwardData",
            {{CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, "ALGO_1"}, {CUDNN_CONVOLUTION_BWD_DATA_ALGO_0, "ALGO_0"}},
            [&] {
                cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
                int count = 0;
                CUDNN_CHECK(dyn::cudnnGetConvolutionBackwardDataAlgorithm_v7(
                    handle_, d.w, d.y, d.conv, d.x, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &count, perf));
                return usable_algos(perf, count);
            },
            [&](cudnnConvolutionBwdDataAlgo_t a, size_t* bytes) {
                return dyn::cudnnGetConvolutionBackwardDataWorkspaceSize(handle_, d.w, d.y, d.conv, d.x, a, bytes);
            },
            [&](cudnnConvolutionBwdDataAlgo_t a, void* work, size_t bytes) {
                return dyn::cudnnConvolutionBackwardData(handle_, &one, d.w, wd.get(), d.y, dyd.get(), d.conv, a,
                                                         work, bytes, &zero, d.x, dxd.get());
            }));
        return fetch(dxd, conv2d_x_size(u));
    }

    // dw and db, summed over u's batch.
    void backward_weight(const Conv2dShape& u, const std::vector<float>& x, const std::vector<float>& dy,
                         std::vector<float>& dw, std::vector<float>& db) {
        ConvDescriptors d;
        d.set(u);
        auto xd = on_device(x), dyd = on_device(dy);
        auto dwd = poisoned_device(conv2d_w_size(u)), dbd = poisoned_device(u.k);
        const float one = 1, zero = 0;
        used_.insert("backward-weight " + run_first_supported<cudnnConvolutionBwdFilterAlgo_t>(
            "cudnnConvolutionBackwardFilter",
            {{CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, "ALGO_1"},
             {CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0, "ALGO_0"},
             {CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3, "ALGO_3"}},
            [&] {
                cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
                int count = 0;
                CUDNN_CHECK(dyn::cudnnGetConvolutionBackwardFilterAlgorithm_v7(
                    handle_, d.x, d.y, d.conv, d.w, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &count, perf));
                return usable_algos(perf, count);
            },
            [&](cudnnConvolutionBwdFilterAlgo_t a, size_t* bytes) {
                return dyn::cudnnGetConvolutionBackwardFilterWorkspaceSize(handle_, d.x, d.y, d.conv, d.w, a, bytes);
            },
            [&](cudnnConvolutionBwdFilterAlgo_t a, void* work, size_t bytes) {
                return dyn::cudnnConvolutionBackwardFilter(handle_, &one, d.x, xd.get(), d.y, dyd.get(), d.conv, a,
                                                           work, bytes, &zero, d.w, dwd.get());
            }));
        CUDNN_CHECK(dyn::cudnnConvolutionBackwardBias(handle_, &one, d.y, dyd.get(), &zero, d.bias, dbd.get()));
        dw = fetch(dwd, conv2d_w_size(u));
        db = fetch(dbd, u.k);
    }

    // The algorithms that ran since the last call, for the log.
    std::string take_algorithms() {
        std::string s;
        for (const std::string& a : used_) s += (s.empty() ? "" : ", ") + a;
        used_.clear();
        return s;
    }

private:
    cudnnHandle_t handle_ = nullptr;
    std::set<std::string> used_;
};

// The unpadded convolution cuDNN runs for `s`: the input padded to the rows and columns the
// windows cover, Hp = (P-1)*stride + R and Wp = (Q-1)*stride + S, no padding of its own.
Conv2dShape unpadded(const Conv2dShape& s) {
    Conv2dShape u = s;
    u.h = (s.p - 1) * s.stride + s.r;
    u.w = (s.q - 1) * s.stride + s.s;
    u.pad_top = u.pad_left = 0;
    return u;
}

// x placed at (pad_top, pad_left) in zeros of u's size; rows/columns past u's cut off.
std::vector<float> pad_input(const Conv2dShape& s, const Conv2dShape& u, const std::vector<float>& x) {
    std::vector<float> xp(size_t(conv2d_x_size(u)), 0.0f);
    for (int nc = 0; nc < s.n * s.c; ++nc)
        for (int i = 0; i < u.h; ++i)
            for (int j = 0; j < u.w; ++j) {
                const int h = i - s.pad_top, w = j - s.pad_left;
                if (h >= 0 && h < s.h && w >= 0 && w < s.w)
                    xp[(size_t(nc) * u.h + i) * u.w + j] = x[(size_t(nc) * s.h + h) * s.w + w];
            }
    return xp;
}

// dx from the padded input's gradient: its window at (pad_top, pad_left); image pixels
// beyond the padded extent are read by no window, so their gradient is 0.
std::vector<double> crop_gradient(const Conv2dShape& s, const Conv2dShape& u, const std::vector<float>& dxp) {
    std::vector<double> dx(size_t(conv2d_x_size(s)), 0.0);
    for (int nc = 0; nc < s.n * s.c; ++nc)
        for (int h = 0; h < s.h; ++h)
            for (int w = 0; w < s.w; ++w) {
                const int i = h + s.pad_top, j = w + s.pad_left;
                if (i < u.h && j < u.w) dx[(size_t(nc) * s.h + h) * s.w + w] = dxp[(size_t(nc) * u.h + i) * u.w + j];
            }
    return dx;
}

// All four outputs for the problem.  Engine runs unpadded convolutions on host vectors
// (CudnnConv); this does the padding, cropping and banding described at the top.
template <typename Engine>
ConvResult conv_oracle(Engine& engine, const ConvProblem& pr) {
    const Conv2dShape& s = pr.s;
    const Conv2dShape u = unpadded(s);
    const std::vector<float> xp = pad_input(s, u, pr.x);
    ConvResult o;
    o.y = to_double(engine.forward(u, xp, pr.w, pr.b));
    o.dx = crop_gradient(s, u, engine.backward_data(u, pr.dy, pr.w));

    o.dw.assign(size_t(conv2d_w_size(s)), 0.0);
    o.db.assign(size_t(s.k), 0.0);
    const int band_rows = std::max(1, kMaxTermsPerCall / s.q);
    for (int n = 0; n < s.n; ++n)
        for (int p0 = 0; p0 < s.p; p0 += band_rows) {
            // Image n, output rows p0 .. p0 + rows - 1, and the input rows they read.
            Conv2dShape band = u;
            band.n = 1;
            band.p = std::min(band_rows, s.p - p0);
            band.h = (band.p - 1) * s.stride + s.r;
            std::vector<float> xb(size_t(conv2d_x_size(band))), dyb(size_t(conv2d_y_size(band)));
            for (int c = 0; c < s.c; ++c) {
                const float* from = &xp[((size_t(n) * s.c + c) * u.h + size_t(p0) * s.stride) * u.w];
                std::copy(from, from + size_t(band.h) * u.w, &xb[size_t(c) * band.h * u.w]);
            }
            for (int k = 0; k < s.k; ++k) {
                const float* from = &pr.dy[((size_t(n) * s.k + k) * s.p + p0) * s.q];
                std::copy(from, from + size_t(band.p) * s.q, &dyb[size_t(k) * band.p * s.q]);
            }
            std::vector<float> dw, db;
            engine.backward_weight(band, xb, dyb, dw, db);
            for (size_t i = 0; i < dw.size(); ++i) o.dw[i] += dw[i];
            for (size_t i = 0; i < db.size(); ++i) o.db[i] += db[i];
        }
    return o;
}

// Our kernels on the same problem, outputs poisoned first.
ConvResult conv_ours(const ConvProblem& pr) {
    const Conv2dShape& s = pr.s;
    auto x = on_device(pr.x), w = on_device(pr.w), b = on_device(pr.b), dy = on_device(pr.dy);
    auto y = poisoned_device(conv2d_y_size(s)), dx = poisoned_device(conv2d_x_size(s));
    auto dw = poisoned_device(conv2d_w_size(s)), db = poisoned_device(s.k);
    conv2d_forward_cuda(s, x.get(), w.get(), b.get(), y.get());
    conv2d_backward_data_cuda(s, dy.get(), w.get(), dx.get());
    conv2d_backward_weight_cuda(s, x.get(), dy.get(), dw.get(), db.get(), nullptr);
    return {to_double(fetch(y, conv2d_y_size(s))), to_double(fetch(dx, conv2d_x_size(s))),
            to_double(fetch(dw, conv2d_w_size(s))), to_double(fetch(db, s.k))};
}

// The shared table, plus the real layers at their training batch sizes.
std::vector<Conv2dCase> oracle_conv_cases() {
    std::vector<Conv2dCase> c = conv2d_test_cases();
    c.insert(c.end(), {
        {"FlowPicNet conv1 1500x1500 batch 2", conv_same(2, 1, 1500, 1500, 10, 10, 10, 5)},
        {"FlowPicNet conv2 150x150 batch 8", conv_same(8, 10, 150, 150, 20, 10, 10, 5)},
        {"LeNet conv1 32x32 batch 16", conv_valid(16, 1, 32, 32, 6, 5, 5, 1)},
        {"LeNet conv2 14x14 batch 16", conv_valid(16, 6, 14, 14, 16, 5, 5, 1)},
    });
    return c;
}

// ---- dense through cuBLAS --------------------------------------------------------------

struct DenseCase {
    const char* name;
    int n, in, out;
};

struct DenseProblem {
    int n, in, out;
    std::vector<float> x, w, b, dy;
    DenseProblem(const DenseCase& c, uint64_t seed)
        : n(c.n), in(c.in), out(c.out),
          x(random_vec<float>(size_t(n) * in, mix_seed(seed, 1))),
          w(random_vec<float>(size_t(out) * in, mix_seed(seed, 2))),
          b(random_vec<float>(size_t(out), mix_seed(seed, 3))),
          dy(random_vec<float>(size_t(n) * out, mix_seed(seed, 4))) {}
};

struct DenseResult {
    std::vector<double> y, dx, dw, db;
};

class Cublas {
public:
    Cublas() {
        CUBLAS_CHECK(dyn::cublasCreate_v2(&handle_));
        CUBLAS_CHECK(dyn::cublasSetMathMode(handle_, CUBLAS_PEDANTIC_MATH));  // fp32 as written, no TF32
    }
    ~Cublas() {
        if (handle_) CHECK_IN_DESTRUCTOR(dyn::cublasDestroy_v2(handle_), CUBLAS_STATUS_SUCCESS);
    }
    Cublas(const Cublas&) = delete;
    Cublas& operator=(const Cublas&) = delete;
    cublasHandle_t get() const { return handle_; }

private:
    cublasHandle_t handle_ = nullptr;
};

// cuBLAS is column-major: our row-major x (n x in) is its in x n matrix X (ld in), W
// (out x in) its in x out matrix (ld in), dy (n x out) its out x n matrix DY (ld out).
//   y^T  (out x n) = W^T X  + b   gemm(T, N), C preloaded with b in every column, beta 1
//   dx^T (in x n)  = W DY         gemm(N, N)
//   dw^T (in x out) = X DY^T      gemm(N, T)
//   db   (out)     = DY 1         gemv(N)
DenseResult dense_cublas(const Cublas& blas, const DenseProblem& p) {
    std::vector<float> y0(size_t(p.n) * p.out), ones(size_t(p.n), 1.0f);
    for (int i = 0; i < p.n; ++i) std::copy(p.b.begin(), p.b.end(), &y0[size_t(i) * p.out]);
    auto x = on_device(p.x), w = on_device(p.w), dy = on_device(p.dy), y = on_device(y0), one_d = on_device(ones);
    auto dx = poisoned_device(1LL * p.n * p.in), dw = poisoned_device(1LL * p.out * p.in), db = poisoned_device(p.out);
    const float one = 1, zero = 0;
    cublasHandle_t h = blas.get();
    CUBLAS_CHECK(dyn::cublasSgemm_v2(h, CUBLAS_OP_T, CUBLAS_OP_N, p.out, p.n, p.in, &one, w.get(), p.in, x.get(),
                                     p.in, &one, y.get(), p.out));
    CUBLAS_CHECK(dyn::cublasSgemm_v2(h, CUBLAS_OP_N, CUBLAS_OP_N, p.in, p.n, p.out, &one, w.get(), p.in, dy.get(),
                                     p.out, &zero, dx.get(), p.in));
    CUBLAS_CHECK(dyn::cublasSgemm_v2(h, CUBLAS_OP_N, CUBLAS_OP_T, p.in, p.out, p.n, &one, x.get(), p.in, dy.get(),
                                     p.out, &zero, dw.get(), p.in));
    CUBLAS_CHECK(dyn::cublasSgemv_v2(h, CUBLAS_OP_N, p.out, p.n, &one, dy.get(), p.out, one_d.get(), 1, &zero,
                                     db.get(), 1));
    return {to_double(fetch(y, 1LL * p.n * p.out)), to_double(fetch(dx, 1LL * p.n * p.in)),
            to_double(fetch(dw, 1LL * p.out * p.in)), to_double(fetch(db, p.out))};
}

DenseResult dense_ours(const DenseProblem& p) {
    auto x = on_device(p.x), w = on_device(p.w), b = on_device(p.b), dy = on_device(p.dy);
    auto y = poisoned_device(1LL * p.n * p.out), dx = poisoned_device(1LL * p.n * p.in);
    auto dw = poisoned_device(1LL * p.out * p.in), db = poisoned_device(p.out);
    dense_forward_cuda(x.get(), w.get(), b.get(), p.n, p.in, p.out, y.get());
    dense_backward_cuda(x.get(), w.get(), dy.get(), p.n, p.in, p.out, dx.get(), dw.get(), db.get());
    return {to_double(fetch(y, 1LL * p.n * p.out)), to_double(fetch(dx, 1LL * p.n * p.in)),
            to_double(fetch(dw, 1LL * p.out * p.in)), to_double(fetch(db, p.out))};
}

std::vector<DenseCase> oracle_dense_cases() {
    return {
        {"FlowPicNet fc1 batch 128", 128, 4500, 64},
        {"FlowPicNet fc2 batch 128", 128, 64, 5},
        {"LeNet fc1 batch 256", 256, 400, 120},
        {"LeNet fc3 batch 1", 1, 84, 5},
        {"odd 7x13x3", 7, 13, 3},
    };
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cuda_cudnn_oracle, *boost::unit_test::precondition(CudaPresent()))

BOOST_AUTO_TEST_CASE(conv_matches_cudnn, *boost::unit_test::precondition(LibraryPresent{cudnn_library})) {
    BOOST_TEST_MESSAGE(cudnn_library().details);
    CudnnConv cudnn;
    uint64_t seed = 1;
    for (const Conv2dCase& c : oracle_conv_cases()) {
        BOOST_TEST_CONTEXT(c.name) {
            try {
                const ConvProblem pr(c.shape, seed++);
                const ConvResult ref = conv_oracle(cudnn, pr), ours = conv_ours(pr);
                const double ey = rel_err(ours.y, ref.y), edx = rel_err(ours.dx, ref.dx);
                const double edw = rel_err(ours.dw, ref.dw), edb = rel_err(ours.db, ref.db);
                BOOST_TEST_MESSAGE(c.name << ": y " << ey << ", dx " << edx << ", dw " << edw << ", db " << edb
                                          << "  [cuDNN " << cudnn.take_algorithms() << "]");
                BOOST_TEST(ey < kCudaTol);
                BOOST_TEST(edx < kCudaTol);
                BOOST_TEST(edw < kCudaTol);
                BOOST_TEST(edb < kCudaTol);
            } catch (const std::exception& e) {
                BOOST_ERROR(e.what());
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(dense_matches_cublas, *boost::unit_test::precondition(LibraryPresent{cublas_library})) {
    Cublas blas;
    int version = 0;
    CUBLAS_CHECK(dyn::cublasGetVersion_v2(blas.get(), &version));
    BOOST_TEST_MESSAGE(cublas_library().details << ", version " << version);
    uint64_t seed = 100;
    for (const DenseCase& c : oracle_dense_cases()) {
        BOOST_TEST_CONTEXT(c.name) {
            try {
                const DenseProblem p(c, seed++);
                const DenseResult ref = dense_cublas(blas, p), ours = dense_ours(p);
                const double ey = rel_err(ours.y, ref.y), edx = rel_err(ours.dx, ref.dx);
                const double edw = rel_err(ours.dw, ref.dw), edb = rel_err(ours.db, ref.db);
                BOOST_TEST_MESSAGE(c.name << ": y " << ey << ", dx " << edx << ", dw " << edw << ", db " << edb);
                BOOST_TEST(ey < kCudaTol);
                BOOST_TEST(edx < kCudaTol);
                BOOST_TEST(edw < kCudaTol);
                BOOST_TEST(edb < kCudaTol);
            } catch (const std::exception& e) {
                BOOST_ERROR(e.what());
            }
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()

#endif  // FLOWPIC_CUDA
