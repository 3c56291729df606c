// The image cache of the loader (nn/loader.h cache_images): cached images are exactly the
// images binning (and augmenting) would make, in any order, for every augmentation kind;
// a cache that does not fit is refused; and training with the cache ends with exactly
// the weights of training without it, with the cache off where the net takes packet
// entries anyway.
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include "flowpic/augment.h"
#include "kernels/cpu/binning.h"
#include "nn/backend.h"
#include "nn/loader.h"
#include "nn/network.h"
#include "nn/trainer.h"
#include "tests/small_dataset.h"

using namespace flowpic;

namespace {

BinningOptions fixed(int resolution) {
    BinningOptions b;
    b.resolution = resolution;
    b.normalize = Normalize::fixed;
    b.max_count = 255;
    return b;
}

AugmentOptions aug(AugmentKind k, int copies) {
    AugmentOptions a;
    a.kind = k;
    a.copies = copies;
    a.seed = 11;
    return a;
}

const AugmentKind kKinds[] = {AugmentKind::none, AugmentKind::changertt, AugmentKind::packetloss, AugmentKind::rotate,
                              AugmentKind::colorjitter};

std::vector<float> weights_after_training(const DatasetReader& ds, const BinningOptions& b, AugmentKind k,
                                          size_t cache_bytes, bool* cached) {
    auto be = make_backend("cpu");
    Network net(NetSpec{Arch::kLeNet, b.resolution, 1, 2});
    net.init_glorot(3);
    net.to(be->memory());
    TrainConfig cfg;
    cfg.epochs = 3;
    cfg.batch = 8;
    cfg.augment = aug(k, 3);
    cfg.augment.validation = true;
    cfg.image_cache_bytes = cache_bytes;
    cfg.progress = false;
    Trainer t(*be, net, ds, b, cfg);
    *cached = t.train_images_cached();
    t.run([](const EpochRecord&) {});
    std::vector<float> all;
    for (const Param& p : net.params()) {
        const std::vector<float> v = p.value->to_vector();
        all.insert(all.end(), v.begin(), v.end());
    }
    return all;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(image_cache)

BOOST_AUTO_TEST_CASE(cached_images_are_the_binned_and_augmented_samples) {
    SmallDataset d(14, 10, 17);
    DatasetReader ds(d.path);
    const BinningOptions b = fixed(32);
    for (AugmentKind k : kKinds) {
        DatasetLoader fresh(ds, kSplitTrain, b, aug(k, 4)), cached(ds, kSplitTrain, b, aug(k, 4));
        BOOST_TEST_REQUIRE(cached.cache_images(size_t(64) << 20));
        BOOST_TEST(cached.cached());
        for (uint64_t epoch : {1, 2}) {
            fresh.shuffle(5, epoch);
            cached.shuffle(5, epoch);
            std::vector<int32_t> lf, lc;
            std::vector<float> want(fresh.size() * image_size(b)), got(want.size(), -1.f);
            fresh.images(0, fresh.size(), lf, want.data());
            uint64_t binned = 0;
            for (size_t f = 0; f < cached.size(); f += 5) {  // in batches, as the trainer gathers them
                const size_t n = std::min<size_t>(5, cached.size() - f);
                std::vector<int32_t> l;
                binned += cached.cached_images(f, n, l, got.data() + f * image_size(b));
                lc.insert(lc.end(), l.begin(), l.end());
            }
            BOOST_TEST(got == want, boost::test_tools::per_element());
            BOOST_TEST(lc == lf, boost::test_tools::per_element());
            // The packets the images hold, as the net counts them (after the time axis).
            std::vector<int32_t> lv;
            const PacketListView* v = fresh.views(0, fresh.size(), lv);
            uint64_t want_binned = 0;
            for (size_t i = 0; i < fresh.size(); ++i) want_binned += axis_view(v[i], b).count;
            BOOST_TEST(binned == want_binned, to_string(k));
            BOOST_TEST(binned > 0u);
        }
    }
}

BOOST_AUTO_TEST_CASE(a_cache_that_does_not_fit_is_refused) {
    SmallDataset d(6, 6, 2);
    DatasetReader ds(d.path);
    const BinningOptions b = fixed(32);
    DatasetLoader l(ds, kSplitTrain, b, aug(AugmentKind::changertt, 10));
    const size_t need = l.size() * image_size(b) * sizeof(float);
    BOOST_TEST(!l.cache_images(need - 1));
    BOOST_TEST(!l.cached());
    BOOST_TEST(!l.cache_images(0));
    BOOST_TEST(l.cache_images(need));
    // Without the cache the loader still gives the samples.
    DatasetLoader off(ds, kSplitTrain, b);
    BOOST_TEST(!off.cache_images(16));
    std::vector<int32_t> labels;
    BOOST_TEST(off.views(0, off.size(), labels)[0].count > 0u);
}

BOOST_AUTO_TEST_CASE(training_with_the_cache_ends_with_the_same_weights) {
    // Up to 3,000 packets a window: crowded 32x32 images, which the net takes dense.
    SmallDataset d(16, 12, 23, 3000);
    DatasetReader ds(d.path);
    const BinningOptions b = fixed(32);
    for (AugmentKind k : kKinds) {
        bool with = false, without = true;
        const std::vector<float> a = weights_after_training(ds, b, k, size_t(64) << 20, &with);
        const std::vector<float> c = weights_after_training(ds, b, k, 0, &without);
        BOOST_TEST(with, to_string(k));
        BOOST_TEST(!without);
        BOOST_TEST(a == c, boost::test_tools::per_element());
    }
}

BOOST_AUTO_TEST_CASE(no_cache_where_the_net_takes_packet_entries) {
    // 64x64 pixels for at most 3 packets a window: the net takes conv1 from entries.
    SmallDataset d(10, 8, 29, 3);
    DatasetReader ds(d.path);
    bool cached = true;
    weights_after_training(ds, fixed(64), AugmentKind::changertt, size_t(64) << 20, &cached);
    BOOST_TEST(!cached);
    // The same windows, an image augmentation: the net takes images, so they are cached.
    weights_after_training(ds, fixed(64), AugmentKind::hflip, size_t(64) << 20, &cached);
    BOOST_TEST(cached);
}

BOOST_AUTO_TEST_SUITE_END()
