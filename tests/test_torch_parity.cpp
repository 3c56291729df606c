// The whole net against PyTorch (llm.c's test_gpt2): fixtures written once by
// tests/make_torch_fixtures.py hold weights, inputs, logits, the loss, every gradient
// and the losses over 5 Keras-Adam steps.  Both CPU backends must match: logits and
// gradients to a relative error < 1e-4, losses to 1e-5.
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <cmath>

#include "nn/network.h"
#include "nn/optimizer.h"
#include "nn/safetensors.h"

using namespace flowpic;

namespace {

const char* kDir = "tests/fixtures/torch/";

double rel_error(const float* a, const float* b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; ++i) {
        double d = double(a[i]) - double(b[i]);
        num += d * d;
        den += double(b[i]) * double(b[i]);
    }
    if (std::isnan(num)) return INFINITY;
    return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

struct Fixture {
    SafeTensorsFile f;
    NetSpec spec;
    int batch = 0;

    explicit Fixture(const std::string& name) : f(read_safetensors(kDir + name + ".safetensors")) {
        spec.arch = parse_arch(f.metadata.at("arch"));
        spec.resolution = std::stoi(f.metadata.at("resolution"));
        spec.channels = std::stoi(f.metadata.at("channels"));
        spec.classes = std::stoi(f.metadata.at("classes"));
        batch = std::stoi(f.metadata.at("batch"));
    }
    const SafeTensor& get(const std::string& name) const {
        const SafeTensor* t = f.find(name);
        if (!t) throw std::runtime_error("fixture lacks " + name);
        return *t;
    }
    bool has(const std::string& name) const { return f.find(name) != nullptr; }
    void load_weights(Network& net, const std::string& prefix = "") const {
        for (const Param& p : net.params()) {
            const SafeTensor& t = get(prefix + p.name);
            BOOST_REQUIRE_EQUAL(t.data.size(), p.value->size());
            std::copy(t.data.begin(), t.data.end(), p.value->data());
        }
    }
    Tensor input() const {
        Tensor x({batch, spec.channels, spec.resolution, spec.resolution});
        x.zero();
        const SafeTensor& s = get("inputs_sparse");  // rows of (n, c, row, col, value)
        for (size_t i = 0; i + 4 < s.data.size(); i += 5) {
            size_t n = size_t(s.data[i]), c = size_t(s.data[i + 1]), r = size_t(s.data[i + 2]), col = size_t(s.data[i + 3]);
            x[((n * spec.channels + c) * spec.resolution + r) * spec.resolution + col] = s.data[i + 4];
        }
        return x;
    }
    std::vector<int32_t> labels() const {
        std::vector<int32_t> l;
        for (float v : get("labels").data) l.push_back(int32_t(v));
        return l;
    }
};

void check_close(const char* what, const float* ours, const SafeTensor& ref, double tol) {
    double e = rel_error(ours, ref.data.data(), ref.data.size());
    BOOST_TEST_MESSAGE("  " << what << ": " << e);
    BOOST_TEST(e < tol, what << ": relative error " << e << " (limit " << tol << ")");
}

void check_training(const std::string& name, CpuKind kind) {
    Fixture fx(name);
    auto be = make_cpu_backend(kind);
    BOOST_TEST_MESSAGE(name << " on " << be->name());
    Network net(fx.spec);
    fx.load_weights(net);
    Tensor x = fx.input();
    std::vector<int32_t> labels = fx.labels();
    StepContext ctx;  // dropout off, as in the fixtures
    Tensor probs, dlogits;
    StepResult r = loss_and_gradients(*be, net, x, labels, nullptr, ctx, probs, dlogits);
    check_close("logits", net.forward(*be, x, ctx).data(), fx.get("logits"), 1e-4);
    BOOST_TEST(std::fabs(r.loss - fx.get("loss").data[0]) / std::fabs(fx.get("loss").data[0]) < 1e-5,
               "loss " << r.loss << " vs " << fx.get("loss").data[0]);
    check_close("grad.logits", dlogits.data(), fx.get("grad.logits"), 1e-4);
    // net.forward above ran again; gradients were computed before it and are untouched.
    for (const Param& p : net.params()) check_close(("grad." + p.name).c_str(), p.grad->data(), fx.get("grad." + p.name), 1e-4);

    if (fx.has("class_weights")) {
        const SafeTensor& cw = fx.get("class_weights");
        StepResult w = loss_and_gradients(*be, net, x, labels, cw.data.data(), ctx, probs, dlogits);
        BOOST_TEST(std::fabs(w.loss - fx.get("weighted.loss").data[0]) / fx.get("weighted.loss").data[0] < 1e-5);
        check_close("weighted.grad.logits", dlogits.data(), fx.get("weighted.grad.logits"), 1e-4);
        for (const Param& p : net.params())
            if (fx.has("weighted.grad." + p.name))
                check_close(("weighted.grad." + p.name).c_str(), p.grad->data(), fx.get("weighted.grad." + p.name), 1e-4);
    }

    if (fx.has("adam.losses")) {
        const SafeTensor& losses = fx.get("adam.losses");
        Adam opt;
        for (size_t step = 0; step < losses.data.size(); ++step) {
            Tensor p2, d2;
            StepResult s = loss_and_gradients(*be, net, x, labels, nullptr, ctx, p2, d2);
            BOOST_TEST(std::fabs(s.loss - losses.data[step]) / std::fabs(losses.data[step]) < 1e-5,
                       "Adam step " << step << ": loss " << s.loss << " vs " << losses.data[step]);
            if (step + 1 < losses.data.size()) opt.update(*be, net.params());
        }
        for (const Param& p : net.params())
            if (fx.has("final." + p.name)) check_close(("final." + p.name).c_str(), p.value->data(), fx.get("final." + p.name), 1e-4);
    }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(torch_parity)

BOOST_AUTO_TEST_CASE(flowpic_r200_training_scalar) { check_training("flowpic_r200_c1_k5", CpuKind::kScalar); }
BOOST_AUTO_TEST_CASE(flowpic_r200_training_avx2) { check_training("flowpic_r200_c1_k5", CpuKind::kAvx2); }
BOOST_AUTO_TEST_CASE(flowpic_r200_two_channels_avx2) { check_training("flowpic_r200_c2_k3", CpuKind::kAvx2); }
BOOST_AUTO_TEST_CASE(lenet_r32_training_scalar) { check_training("lenet_r32_c1_k5", CpuKind::kScalar); }
BOOST_AUTO_TEST_CASE(lenet_r32_training_avx2) { check_training("lenet_r32_c1_k5", CpuKind::kAvx2); }

BOOST_AUTO_TEST_CASE(flowpic_r1500_logits) {
    Fixture fx("flowpic_r1500_c1_k5");
    for (CpuKind kind : {CpuKind::kAvx2, CpuKind::kScalar}) {
        auto be = make_cpu_backend(kind);
        Network net(fx.spec);
        fx.load_weights(net);
        Tensor x = fx.input();
        check_close(be->name().c_str(), net.forward(*be, x, StepContext{}).data(), fx.get("logits"), 1e-4);
    }
}

BOOST_AUTO_TEST_CASE(shape_rules_and_parameter_counts) {
    BOOST_TEST(Network(NetSpec{Arch::kLeNet, 32, 1, 5}).parameter_count() == 61281u);  // DESIGN.md
    BOOST_TEST(Network(NetSpec{Arch::kFlowPic, 1500, 1, 5}).params()[4].value->shape() == (Shape{64, 4500}));
    BOOST_TEST(Network(NetSpec{Arch::kLeNet, 64, 1, 5}).params()[4].value->shape() == (Shape{120, 2704}));
    BOOST_CHECK_NO_THROW(Network(NetSpec{Arch::kFlowPic, 56, 1, 5}));
    BOOST_CHECK_THROW(Network(NetSpec{Arch::kFlowPic, 55, 1, 5}), std::invalid_argument);
    BOOST_CHECK_THROW(Network(NetSpec{Arch::kLeNet, 15, 1, 5}), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
