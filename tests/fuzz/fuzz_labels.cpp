// Label rules: label-map text -> LabelSource::from_map_text (rules, globs, regexes,
// classes, warnings), then labelling a few capture paths, one of them taken from the
// input (the part after the first NUL byte, when there is one), so the regex matcher sees
// both fuzzed patterns and fuzzed names.  A hang here is a finding: the matcher is linear.
#include <string>

#include "core/error.h"
#include "flowpic/labels.h"
#include "tests/fuzz/fuzz_util.h"

namespace flowpic {

int fuzz_labels(const uint8_t* data, size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size), name = "caps/vpn/skype_chat1a.pcap";
    if (size_t nul = text.find('\0'); nul != std::string::npos) {
        name = text.substr(nul + 1, 4096);
        text.resize(nul);
    }
    try {
        LabelSource src = LabelSource::from_map_text(text, "fuzz.tsv");
        std::vector<CaptureLabel> labels;
        for (const std::string& p : {name, std::string("a.pcap"), std::string("/x/y/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaac")})
            labels.push_back(src.label(p));
        (void)order_classes(src, labels);
    } catch (const InputError&) {
    }
    static const LabelSource iscx = LabelSource::builtin("iscx-vpn2016");
    (void)iscx.label(name);
    return 0;
}

}  // namespace flowpic

FLOWPIC_FUZZ_ENTRY(flowpic::fuzz_labels)
