// Labels for captures, without editing code (docs/LABELS.md documents every source and
// the built-in tables).  A label belongs to a whole capture file: every window cut from it
// gets the capture's class and vpn flag.
//
// Sources (exactly one per run):
//   fixed NAME          every capture is NAME                       (--label NAME)
//   from-dir            the capture's parent directory name         (--label-from-dir)
//   map FILE            ordered rules from a text file              (--label-map FILE)
//   builtin TABLE       a table compiled in: "iscx-vpn2016"         (--labels iscx-vpn2016)
//   flows FILE          per flow, from a flow table                 (--label-flows FILE)
//
// The flow table is the one source that labels flows, not captures: each flow of a
// capture gets its own class (label_flow), and flows the table does not list are not
// used.  For it, label(capture) only says whether the table lists flows of the capture:
// kLabelled (at least one with a class; cls is then empty), kExcluded (it lists some,
// none with a class) or kUnmatched (none).
//
// Flow table file: tab-separated, the first line a header naming the columns; the columns
// pcap, l4, src, sport, dst, dport and class are used (by name, any order; others, such
// as those of ../shared/data/ndpi/flows.tsv, are ignored).  Blank lines and lines starting
// with # are skipped.  A row is matched to a flow on (the capture's base name = base name
// of `pcap`, l4 = TCP|UDP (any case), the endpoint pair {src:sport, dst:dport} in either
// orientation).  Rows of another l4 (ICMP, ...) can never match (flowpic windows TCP and
// UDP only) and are counted.  An empty class or `-` means "listed, no class": such flows
// are excluded (counted).  A bad port or class name, a row whose field count differs from
// the header's, or one flow listed twice with different classes is an InputError
// "FILE:LINE: what"; the same flow listed twice with one class is accepted.  A row whose
// address is not IPv4/IPv6 (nDPI's table has one) can match no flow: a warning
// "FILE:LINE: ..." (warnings(); from_flow_file prints them), and the row is skipped.
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
#include "pcap/packet.h"
#include <string>
#include <unordered_map>
#include <vector>

namespace flowpic {

enum class LabelStatus : uint8_t { kLabelled, kExcluded, kUnmatched };

struct CaptureLabel {
    LabelStatus status = LabelStatus::kUnmatched;
    std::string cls;    // class name when labelled
    bool vpn = false;
    std::string why;    // which rule decided, e.g. "map.tsv:3", "iscx-vpn2016: email is not a FlowPic class"
};

// A parsed flow table (--label-flows).  rows: one per data row that names a TCP or UDP
// flow (duplicates included), in file order.
struct FlowLabelTable {
    struct Row {
        std::string capture;  // base name
        std::string cls;      // "" = listed without a class
        int line = 0;
        size_t first = 0;     // index of this flow's first listing (itself unless repeated)
    };
    std::string path;
    std::vector<Row> rows;
    uint64_t other_l4_rows = 0;  // rows of protocols flowpic does not window (ICMP, ...)
    // key (capture base name, proto, ordered endpoint pair) -> index into rows (first listing)
    std::unordered_map<std::string, size_t> by_flow;
    std::unordered_map<std::string, std::vector<size_t>> by_capture;  // base name -> rows

    // Index into rows of the flow's listing, or -1.
    long find(const std::string& capture_path, const FiveTuple& t) const;
    static std::string key(const std::string& capture_base, const FiveTuple& t);
};

class LabelSource {
public:
    static LabelSource fixed(const std::string& name);    // UsageError for a bad name
    static LabelSource from_dir();
    static LabelSource from_map_file(const std::string& path);  // InputError "path:line: what"
    static LabelSource from_map_text(const std::string& text, const std::string& name);
    static LabelSource builtin(const std::string& table);  // UsageError for an unknown table
    static LabelSource from_flow_file(const std::string& path);  // InputError "path:line: what"
    static LabelSource from_flow_text(const std::string& text, const std::string& name);
    static std::vector<std::string> builtin_tables();      // {"iscx-vpn2016"}

    CaptureLabel label(const std::string& capture_path) const;

    // True for the flow table: windows are labelled by label_flow, not label.
    bool per_flow() const { return kind_ == Kind::kFlows; }
    // The label of one flow of a capture (tuple in either orientation); for the other
    // sources, label(capture_path).  *row (optional): the table row matched, or -1.
    CaptureLabel label_flow(const std::string& capture_path, const FiveTuple& t, long* row = nullptr) const;
    const FlowLabelTable* flow_table() const { return flows_.get(); }

    // The class order this source prefers (the built-in table's order); empty: none.
    const std::vector<std::string>& canonical_order() const { return canonical_; }
    // "fixed:NAME", "from-dir", "map:FILE", "builtin:iscx-vpn2016": stored in the dataset.
    const std::string& description() const { return description_; }
    // "FILE:LINE: rule never matches: ..." for each dead rule of a label map; for a flow
    // table, "FILE:LINE: ... can match no flow" for each row with an unusable address.
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
    enum class Kind : uint8_t { kFixed, kFromDir, kRules, kFlows };
    Kind kind_ = Kind::kRules;
    std::string fixed_;
    std::vector<Rule> rules_;
    bool builtin_vpn_prefix_ = false;  // iscx: a leading "vpn_" sets vpn and is stripped
    std::vector<std::string> canonical_;
    std::string description_;
    std::vector<std::string> warnings_;
    std::shared_ptr<const FlowLabelTable> flows_;  // kFlows
    void print_warnings() const;  // on stderr, "warning: ..." each
};

// A label map's or flow table's whole text; InputError naming the file (missing, a
// directory, unreadable).  `what` names it in the errors: "label map", "flow table".
std::string read_label_file(const std::string& path, const std::string& what);

// The dataset's class table: the labelled classes present in `labels`, in the source's
// canonical order where it has one (iscx: chat, file, voip, video, browsing), otherwise
// sorted by name (byte order) so the order never depends on input order.
std::vector<std::string> order_classes(const LabelSource& src,
                                       const std::vector<CaptureLabel>& labels);
// For the flow table: the classes its rows give the flows of these captures, sorted.
std::vector<std::string> flow_classes(const LabelSource& src, const std::vector<std::string>& captures);

// Name helpers used by the sources (exposed for tests and the app's reports).
std::string base_name(const std::string& path);        // "a/b/c.pcap" -> "c.pcap"
std::string parent_dir_name(const std::string& path);  // "a/b/c.pcap" -> "b"
std::string capture_stem(const std::string& path);     // "a/B_1.pcapng" -> "b_1" (lower case)
std::string bad_class_name(const std::string& name);   // "" when usable as a class, else why not

}  // namespace flowpic
