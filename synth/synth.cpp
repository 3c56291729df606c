// flowpic-synth's driver: every flow of every class to its own capture, then the mix.
#include "synth/synth.h"

#include "core/fs.h"

#include <cerrno>
#include <cstring>
#include <sys/stat.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/progress.h"

namespace flowpic {

SynthSummary synth_run(const SynthOptions& opt) {
    if (opt.out_dir.empty()) throw UsageError("--out DIR is required");
    if (opt.flows_per_class == 0 || opt.flows_per_class > kSynthMaxFlowsPerClass)
        throw UsageError("--flows-per-class must be in 1.." + std::to_string(kSynthMaxFlowsPerClass));
    if (!(opt.mean_duration_s > 0 && opt.mean_duration_s <= kSynthMaxDurationS))
        throw UsageError("--duration must be in (0, 3600] seconds");
    std::vector<SynthClass> classes = opt.classes;
    if (classes.empty())
        for (int c = 0; c < kSynthClassCount; ++c) classes.push_back(SynthClass(c));

    SynthSummary sum;
    std::vector<std::string> written;
    OutputBatch batch;  // a run that fails midway takes its captures back
    return batch.guard([&] {
    const uint64_t total = classes.size() * opt.flows_per_class;
    Progress prog("flowpic-synth", total, "flows", opt.progress);
    for (SynthClass cls : classes) {
        const std::string dir = opt.out_dir + "/" + synth_class_name(cls);
        make_dirs(dir);
        for (uint64_t k = 0; k < opt.flows_per_class; ++k) {
            SynthFlow flow = synth_generate(cls, opt.seed, k, opt.mean_duration_s);
            std::string path = dir + "/" + synth_class_name(cls) + "_" + std::to_string(k) + ".pcap";
            sum.file_bytes += synth_write_pcap(flow, path);
            for (const auto& p : flow.packets) sum.ip_bytes += synth_ip_len(flow, p);
            sum.packets += flow.packets.size();
            sum.class_packets[int(cls)] += flow.packets.size();
            ++sum.files;
            written.push_back(path);
            batch.add(path);
            // Progress looks at the clock once per 16 k calls: call it per packet.
            for (size_t i = 0; i < flow.packets.size(); ++i) prog.update(sum.files, sum.packets);
        }
    }
    prog.finish(sum.files, sum.packets);
    if (!opt.mix_path.empty()) {
        auto slash = opt.mix_path.find_last_of('/');
        if (slash != std::string::npos && slash > 0) make_dirs(opt.mix_path.substr(0, slash));
        sum.mix_packets = synth_merge_pcaps(written, opt.mix_path, opt.progress);
        struct stat st;
        if (stat(opt.mix_path.c_str(), &st) == 0) sum.mix_file_bytes = uint64_t(st.st_size);
    }
    batch.commit();
    return sum;
    });
}

}  // namespace flowpic
