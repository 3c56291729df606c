// Labels for captures, without editing code (docs/LABELS.md documents every source and
// the built-in tables).  A label belongs to a whole capture file: every window cut from it
// gets the capture's class and vpn flag.
//
// Sources (exactly one per run):
//   fixed NAME          every capture is NAME                       (--label NAME)
//   from-dir            the capture's parent directory name         (--label-from-dir)
//   map FILE            ordered rules from a text file              (--label-map FILE)
//   builtin TABLE       a table compiled in: "iscx-vpn2016"         (--labels iscx-vpn2016)
//
// Label-map file: one rule per line, `pattern<TAB>class[<TAB>vpn|nonvpn]`; blank lines
// and lines starting with # are ignored; the first rule that matches wins.
//   - a pattern is a glob (fnmatch, case-sensitive) matched against the capture's base name
//     when it has no '/', or against the whole path as given when it has one;
//   - `re:REGEX` is a regex (the ECMAScript subset of flowpic/label_regex.h, matched in
//     linear time) searched anywhere in the whole path;
//   - class `-` excludes the matching captures on purpose (reported, not an error).
// A malformed line is an InputError "FILE:LINE: what".  A rule that can never match (the
// same pattern as an earlier rule, or after a catch-all such as `*` or `re:.*`) is a
// warning "FILE:LINE: ..." (warnings(); from_map_file also prints them on stderr).
//
// Every capture gets a result: labelled, excluded (a rule said so, with the reason) or
// unmatched (nothing matched).  Nothing is dropped silently: the app lists the last two.
#pragma once
#include <memory>

#include "flowpic/label_regex.h"
#include <string>
#include <vector>

namespace flowpic {

enum class LabelStatus : uint8_t { kLabelled, kExcluded, kUnmatched };

struct CaptureLabel {
    LabelStatus status = LabelStatus::kUnmatched;
    std::string cls;    // class name when labelled
    bool vpn = false;
    std::string why;    // which rule decided, e.g. "map.tsv:3", "iscx-vpn2016: email is not a FlowPic class"
};

class LabelSource {
public:
    static LabelSource fixed(const std::string& name);    // UsageError for a bad name
    static LabelSource from_dir();
    static LabelSource from_map_file(const std::string& path);  // InputError "path:line: what"
    static LabelSource from_map_text(const std::string& text, const std::string& name);
    static LabelSource builtin(const std::string& table);  // UsageError for an unknown table
    static std::vector<std::string> builtin_tables();      // {"iscx-vpn2016"}

    CaptureLabel label(const std::string& capture_path) const;

    // The class order this source prefers (the built-in table's order); empty: none.
    const std::vector<std::string>& canonical_order() const { return canonical_; }
    // "fixed:NAME", "from-dir", "map:FILE", "builtin:iscx-vpn2016": stored in the dataset.
    const std::string& description() const { return description_; }
    // "FILE:LINE: rule never matches: ..." for each dead rule of a label map.
    const std::vector<std::string>& warnings() const { return warnings_; }

    struct Rule {
        enum Kind : uint8_t { kGlobBase, kGlobPath, kRegexPath, kRegexStem } kind;
        std::string pattern;
        std::shared_ptr<const LabelRegex> re;  // shared: LabelSource copies stay cheap
        std::string cls;   // "" = exclude
        bool vpn = false;
        std::string origin;  // "FILE:LINE" or "iscx-vpn2016 rule N"
        std::string note;    // why a rule excludes
    };

private:
    enum class Kind : uint8_t { kFixed, kFromDir, kRules };
    Kind kind_ = Kind::kRules;
    std::string fixed_;
    std::vector<Rule> rules_;
    bool builtin_vpn_prefix_ = false;  // iscx: a leading "vpn_" sets vpn and is stripped
    std::vector<std::string> canonical_;
    std::string description_;
    std::vector<std::string> warnings_;
};

// The dataset's class table: the labelled classes present in `labels`, in the source's
// canonical order where it has one (iscx: chat, file, voip, video, browsing), otherwise
// sorted by name (byte order) so the order never depends on input order.
std::vector<std::string> order_classes(const LabelSource& src,
                                       const std::vector<CaptureLabel>& labels);

// Name helpers used by the sources (exposed for tests and the app's reports).
std::string base_name(const std::string& path);        // "a/b/c.pcap" -> "c.pcap"
std::string parent_dir_name(const std::string& path);  // "a/b/c.pcap" -> "b"
std::string capture_stem(const std::string& path);     // "a/B_1.pcapng" -> "b_1" (lower case)

}  // namespace flowpic
