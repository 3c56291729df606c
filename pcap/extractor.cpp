#include "pcap/extractor.h"

#include <sys/stat.h>

#include <chrono>
#include <memory>

#include "core/error.h"
#include "core/progress.h"
#include "pcap/input_format.h"

namespace flowpic {

namespace {

uint64_t total_size(const std::vector<std::string>& paths) {
    uint64_t total = 0;
    for (const auto& p : paths) {
        struct stat st;
        if (p != "-" && stat(p.c_str(), &st) == 0) total += uint64_t(st.st_size);
    }
    return total;
}

}  // namespace

void extract_captures(const std::vector<std::string>& captures, const ExtractOptions& opts, PacketSink& sink,
                      ExtractStats& st) {
    const auto t0 = std::chrono::steady_clock::now();
    Progress progress("reading", total_size(captures), "B", opts.progress);
    for (size_t i = 0; i < captures.size(); ++i) {
        const std::string& path = captures[i];
        try {
            const InputFormatEntry& format = input_format_for(path, opts.format);
            SourceContext ctx{opts, sink, st, progress, st.input_bytes, i};
            st.input_bytes += format.read(path, ctx);
            ++st.files;
        } catch (const InputError& e) {
            if (!opts.keep_going) throw;
            ++st.files_failed;
            st.warnings.push_back(std::string(e.what()) + " (skipped)");
        }
    }
    progress.finish(st.input_bytes, st.records, "records");
    st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace flowpic
