#include "nn/layers.h"

#include <cstring>
#include <stdexcept>

#include "core/rng.h"

namespace flowpic {

namespace {
void need_rank(const Shape& in, size_t rank, const char* what) {
    if (in.size() != rank) throw std::invalid_argument(std::string(what) + ": expected a rank-" + std::to_string(rank) +
                                                       " input, got " + shape_string(in));
}
}  // namespace

// ---- conv2d ----------------------------------------------------------------------------

Conv2dLayer::Conv2dLayer(std::string name, int in_channels, int filters, int kernel, int stride, Padding pad)
    : name_(std::move(name)), c_(in_channels), k_(filters), r_(kernel), stride_(stride), pad_(pad) {
    w_.reshape({k_, c_, r_, r_});
    b_.reshape({k_});
    dw_.reshape(w_.shape());
    db_.reshape(b_.shape());
    w_.zero(); b_.zero(); dw_.zero(); db_.zero();
}

std::string Conv2dLayer::describe() const {
    return name_ + ": conv " + std::to_string(k_) + "@" + std::to_string(r_) + "x" + std::to_string(r_) + " stride " +
           std::to_string(stride_) + (pad_ == Padding::kSameKeras ? " same" : " valid");
}

Conv2dShape Conv2dLayer::shape_for(const Shape& in) const {
    need_rank(in, 4, name_.c_str());
    if (in[1] != c_) throw std::invalid_argument(name_ + ": expected " + std::to_string(c_) + " channels, got " + shape_string(in));
    Conv2dShape s = pad_ == Padding::kSameKeras
                        ? conv2d_same_keras(int(in[0]), c_, int(in[2]), int(in[3]), k_, r_, r_, stride_)
                        : conv2d_valid(int(in[0]), c_, int(in[2]), int(in[3]), k_, r_, r_, stride_);
    if (s.p < 1 || s.q < 1) throw std::invalid_argument(name_ + ": input " + shape_string(in) + " is too small");
    return s;
}

Shape Conv2dLayer::output_shape(const Shape& in) const {
    Conv2dShape s = shape_for(in);
    return {s.n, s.k, s.p, s.q};
}

void Conv2dLayer::forward(Backend& be, const Tensor& x, Tensor& y, const StepContext&) {
    Conv2dShape s = shape_for(x.shape());
    y.reshape({s.n, s.k, s.p, s.q});
    be.conv2d_forward(s, x.data(), w_.data(), b_.data(), y.data());
}

void Conv2dLayer::backward(Backend& be, const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) {
    Conv2dShape s = shape_for(x.shape());
    be.conv2d_backward_weight(s, x.data(), dy.data(), dw_.data(), db_.data());
    if (dx) {
        dx->reshape(x.shape());
        be.conv2d_backward_data(s, dy.data(), w_.data(), dx->data());
    }
}

void Conv2dLayer::forward_sparse(Backend& be, const Backend::PacketEntries& x, const Shape& in, Tensor& y) {
    Conv2dShape s = shape_for(in);
    y.reshape({s.n, s.k, s.p, s.q});
    be.conv2d_sparse_forward(s, x, w_.data(), b_.data(), y.data());
}

void Conv2dLayer::backward_sparse(Backend& be, const Backend::PacketEntries& x, const Shape& in, const Tensor& dy) {
    be.conv2d_sparse_backward_weight(shape_for(in), x, dy.data(), dw_.data(), db_.data());
}

void Conv2dLayer::collect_params(std::vector<Param>& out) {
    out.push_back({name_ + ".weight", &w_, &dw_});
    out.push_back({name_ + ".bias", &b_, &db_});
}

void Conv2dLayer::to(Memory m) {
    for (Tensor* t : {&w_, &b_, &dw_, &db_}) t->to(m);
}

// ---- dense -----------------------------------------------------------------------------

DenseLayer::DenseLayer(std::string name, int in, int out) : name_(std::move(name)), in_(in), out_(out) {
    w_.reshape({out_, in_});
    b_.reshape({out_});
    dw_.reshape(w_.shape());
    db_.reshape(b_.shape());
    w_.zero(); b_.zero(); dw_.zero(); db_.zero();
}

std::string DenseLayer::describe() const {
    return name_ + ": dense " + std::to_string(in_) + " -> " + std::to_string(out_);
}

Shape DenseLayer::output_shape(const Shape& in) const {
    need_rank(in, 2, name_.c_str());
    if (in[1] != in_) throw std::invalid_argument(name_ + ": expected " + std::to_string(in_) + " inputs, got " + shape_string(in));
    return {in[0], out_};
}

void DenseLayer::forward(Backend& be, const Tensor& x, Tensor& y, const StepContext&) {
    // A rank-4 input is read as its flattened rows (C, H, W order), as FlattenLayer makes them.
    if (x.shape().size() != 2) {
        if (x.shape().size() < 2 || x.size() != size_t(x.dim(0)) * size_t(in_))
            throw std::invalid_argument(name_ + ": expected " + std::to_string(in_) + " inputs, got " + shape_string(x.shape()));
        y.reshape({x.dim(0), out_});
        be.dense_forward(x.data(), w_.data(), b_.data(), int(x.dim(0)), in_, out_, y.data());
        return;
    }
    y.reshape(output_shape(x.shape()));
    be.dense_forward(x.data(), w_.data(), b_.data(), int(x.dim(0)), in_, out_, y.data());
}

void DenseLayer::backward(Backend& be, const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) {
    if (dx) dx->reshape(x.shape());
    be.dense_backward(x.data(), w_.data(), dy.data(), int(x.dim(0)), in_, out_, dx ? dx->data() : nullptr, dw_.data(),
                      db_.data());
}

void DenseLayer::collect_params(std::vector<Param>& out) {
    out.push_back({name_ + ".weight", &w_, &dw_});
    out.push_back({name_ + ".bias", &b_, &db_});
}

void DenseLayer::to(Memory m) {
    for (Tensor* t : {&w_, &b_, &dw_, &db_}) t->to(m);
}

// ---- relu, maxpool, dropout, flatten ---------------------------------------------------

void ReluLayer::forward(Backend& be, const Tensor& x, Tensor& y, const StepContext&) {
    y.reshape(x.shape());
    be.relu_forward(x.data(), x.size(), y.data());
}

void ReluLayer::backward(Backend& be, const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) {
    if (!dx) return;
    dx->reshape(x.shape());
    be.relu_backward(y.data(), dy.data(), y.size(), dx->data());
}

Shape MaxPoolLayer::output_shape(const Shape& in) const {
    need_rank(in, 4, "maxpool");
    if (in[2] < 2 || in[3] < 2) throw std::invalid_argument("maxpool: input " + shape_string(in) + " is too small");
    return {in[0], in[1], in[2] / 2, in[3] / 2};
}

void MaxPoolLayer::forward(Backend& be, const Tensor& x, Tensor& y, const StepContext&) {
    y.reshape(output_shape(x.shape()));
    argmax_.resize(y.size(), be.memory());
    be.maxpool2d_forward(x.data(), int(x.dim(0)), int(x.dim(1)), int(x.dim(2)), int(x.dim(3)), y.data(), argmax_.data());
}

void MaxPoolLayer::backward(Backend& be, const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) {
    if (!dx) return;
    dx->reshape(x.shape());
    be.maxpool2d_backward(dy.data(), argmax_.data(), int(x.dim(0)), int(x.dim(1)), int(x.dim(2)), int(x.dim(3)),
                          dx->data());
}

void ReluMaxPoolLayer::forward(Backend& be, const Tensor& x, Tensor& y, const StepContext& ctx) {
    pool_.forward(be, x, y, ctx);
    be.relu_forward(y.data(), y.size(), y.data());  // in place: elementwise
}

void ReluMaxPoolLayer::backward(Backend& be, const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) {
    if (!dx) return;
    dpool_.place(be.memory());
    dpool_.reshape(y.shape());
    be.relu_backward(y.data(), dy.data(), y.size(), dpool_.data());
    pool_.backward(be, x, y, dpool_, dx);
}

std::string DropoutLayer::describe() const { return "dropout " + std::to_string(rate_).substr(0, 4); }

void DropoutLayer::forward(Backend& be, const Tensor& x, Tensor& y, const StepContext& ctx) {
    y.reshape(x.shape());
    active_ = ctx.training && rate_ > 0;
    if (!active_) {
        be.copy(y.data(), x.data(), x.size());
        return;
    }
    mask_.resize(x.size(), be.memory());
    be.dropout_forward(x.data(), x.size(), rate_, mix_seed(ctx.dropout_seed, index_), y.data(), mask_.data());
}

void DropoutLayer::backward(Backend& be, const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) {
    if (!dx) return;
    dx->reshape(x.shape());
    if (!active_) {
        be.copy(dx->data(), dy.data(), dy.size());
        return;
    }
    be.dropout_backward(dy.data(), mask_.data(), dy.size(), rate_, dx->data());
}

Shape FlattenLayer::output_shape(const Shape& in) const {
    if (in.size() < 2) throw std::invalid_argument("flatten: input " + shape_string(in) + " has no batch dimension");
    return {in[0], shape_elements(in) / in[0]};
}

void FlattenLayer::forward(Backend& be, const Tensor& x, Tensor& y, const StepContext&) {
    y.reshape(output_shape(x.shape()));
    be.copy(y.data(), x.data(), x.size());
}

void FlattenLayer::backward(Backend& be, const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) {
    if (!dx) return;
    dx->reshape(x.shape());
    be.copy(dx->data(), dy.data(), dy.size());
}

}  // namespace flowpic
