#include "flowpic/labels.h"

#include "core/strings.h"

#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include "core/error.h"
#include "flowpic/labels_builtin.h"

namespace flowpic {

// Class names end up in a table, in file names of rendered PNGs and in tab-separated
// map files: keep them printable, without separators.  (Shared with labels_flows.cpp.)
std::string bad_class_name(const std::string& name) {
    if (name.empty()) return "empty class name";
    if (name == "-") return "'-' is reserved (it excludes captures)";
    if (name.size() > 64) return "class name longer than 64 characters";
    // Inner spaces are allowed ("Google Doc", the UCDavis directories); tabs and line
    // breaks would break the TSV/CSV outputs, edge spaces would not survive a trim.
    if (name.front() == ' ' || name.back() == ' ') return "class name '" + name + "' starts or ends with a space";
    for (unsigned char c : name)
        if (c < 0x20 || c == 0x7f || c == '/') return "class name '" + name + "' has a tab, '/' or control character";
    return "";
}

namespace {

bool rule_matches(const LabelSource::Rule& r, const std::string& path, const std::string& stem) {
    switch (r.kind) {
        case LabelSource::Rule::kGlobBase:
            return fnmatch(r.pattern.c_str(), base_name(path).c_str(), 0) == 0;
        case LabelSource::Rule::kGlobPath:
            return fnmatch(r.pattern.c_str(), path.c_str(), 0) == 0;
        case LabelSource::Rule::kRegexPath:
            return r.re->search(path);
        case LabelSource::Rule::kRegexStem:
            return r.re->match(stem);
    }
    return false;
}

}  // namespace

std::string base_name(const std::string& path) {
    std::string p = path;
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    auto slash = p.find_last_of('/');
    return slash == std::string::npos ? p : p.substr(slash + 1);
}

std::string parent_dir_name(const std::string& path) {
    std::string p = path;
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    auto slash = p.find_last_of('/');
    if (slash == std::string::npos) {
        // A bare file name lives in the working directory: use its name.
        char buf[4096];
        if (!getcwd(buf, sizeof buf)) return "";
        return base_name(buf) == "/" ? "" : base_name(buf);
    }
    std::string dir = p.substr(0, slash);
    if (dir.empty()) return "";  // "/x.pcap": the root has no name
    std::string name = base_name(dir);
    if (name == "." || name == "..") {  // "./x.pcap", "../x.pcap": the real directory's name
        char buf[PATH_MAX];
        if (!realpath(dir.c_str(), buf)) return "";
        name = base_name(buf);
        return name == "/" ? "" : name;
    }
    return name;
}

std::string capture_stem(const std::string& path) {
    std::string s = base_name(path);
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    static const char* const kExt[] = {".gz", ".pcapng", ".pcap", ".cap"};
    for (bool again = true; again;) {
        again = false;
        for (const char* e : kExt) {
            size_t n = std::char_traits<char>::length(e);
            if (s.size() > n && s.compare(s.size() - n, n, e) == 0) {
                s.resize(s.size() - n);
                again = true;
            }
        }
    }
    return s;
}

LabelSource LabelSource::fixed(const std::string& name) {
    std::string bad = bad_class_name(name);
    if (!bad.empty()) throw UsageError("--label: " + bad);
    LabelSource s;
    s.kind_ = Kind::kFixed;
    s.fixed_ = name;
    s.description_ = "fixed:" + name;
    return s;
}

LabelSource LabelSource::from_dir() {
    LabelSource s;
    s.kind_ = Kind::kFromDir;
    s.description_ = "from-dir";
    return s;
}

std::string read_label_file(const std::string& path, const std::string& what) {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) throw input_error(path, "cannot open " + what + ": " + std::strerror(errno));
    // An ifstream opens a directory and reads nothing: "has no rules" would mislead.
    if (S_ISDIR(st.st_mode)) throw input_error(path, "is a directory, not a " + what + (what == "label map" ? " file" : ""));
    std::ifstream in(path, std::ios::binary);
    if (!in) throw input_error(path, "cannot open " + what);
    std::stringstream ss;
    ss << in.rdbuf();
    if (in.bad()) throw input_error(path, "read error");
    return ss.str();
}

LabelSource LabelSource::from_map_file(const std::string& path) {
    LabelSource s = from_map_text(read_label_file(path, "label map"), path);
    s.print_warnings();
    return s;
}

void LabelSource::print_warnings() const {
    for (const std::string& w : warnings_) std::fprintf(stderr, "warning: %s\n", w.c_str());
}

namespace {

// A pattern every capture path matches: a glob of only '*' on the base name, or a regex
// that matches the empty string at the start of any name.
bool is_catch_all(const LabelSource::Rule& r) {
    if (r.kind == LabelSource::Rule::kGlobBase) return r.pattern.find_first_not_of('*') == std::string::npos;
    if (r.kind == LabelSource::Rule::kRegexPath) return r.re->matches_everything();
    return false;
}

// "FILE:LINE: rule never matches: ..." for rules no capture can reach.
std::vector<std::string> dead_rule_warnings(const std::vector<LabelSource::Rule>& rules) {
    std::vector<std::string> out;
    const LabelSource::Rule* catch_all = nullptr;
    for (size_t i = 0; i < rules.size(); ++i) {
        const LabelSource::Rule& r = rules[i];
        if (catch_all) {
            out.push_back(r.origin + ": rule never matches: the catch-all rule at " + catch_all->origin +
                          " matches every capture first");
            continue;
        }
        for (size_t j = 0; j < i; ++j)
            if (rules[j].kind == r.kind && rules[j].pattern == r.pattern) {
                out.push_back(r.origin + ": rule never matches: " + rules[j].origin + " has the same pattern");
                break;
            }
        if (is_catch_all(r)) catch_all = &r;
    }
    return out;
}

}  // namespace

LabelSource LabelSource::from_map_text(const std::string& text, const std::string& name) {
    LabelSource s;
    s.kind_ = Kind::kRules;
    s.description_ = "map:" + name;
    std::istringstream in(text);
    std::string line;
    for (int lineno = 1; std::getline(in, line); ++lineno) {
        if (!line.empty() && line.back() == '\r') line.pop_back();  // files edited on Windows
        std::string t = trim(line);
        if (t.empty() || t[0] == '#') continue;
        const std::string where = name + ":" + std::to_string(lineno);
        std::vector<std::string> f = split_on(line, '\t');
        if (f.size() < 2 || f.size() > 3)
            throw InputError(where + ": expected 'pattern<TAB>class[<TAB>vpn|nonvpn]', got " +
                             std::to_string(f.size()) + " tab-separated field(s)");
        Rule r;
        r.pattern = trim(f[0]);
        r.cls = trim(f[1]);
        r.origin = where;
        if (r.pattern.empty()) throw InputError(where + ": empty pattern");
        if (r.cls == "-") {
            r.cls.clear();
            r.note = "excluded by " + where;
        } else if (std::string bad = bad_class_name(r.cls); !bad.empty()) {
            throw InputError(where + ": " + bad);
        }
        if (f.size() == 3) {
            std::string v = trim(f[2]);
            if (v == "vpn") r.vpn = true;
            else if (v != "nonvpn" && !v.empty())
                throw InputError(where + ": third field '" + v + "' is not vpn or nonvpn");
        }
        if (r.pattern.compare(0, 3, "re:") == 0) {
            r.kind = Rule::kRegexPath;
            r.pattern = r.pattern.substr(3);
            if (r.pattern.empty()) throw InputError(where + ": empty regex after 're:'");
            try {
                r.re = std::make_shared<const LabelRegex>(r.pattern);
            } catch (const std::invalid_argument& e) {
                throw InputError(where + ": bad regex '" + r.pattern + "': " + e.what());
            }
        } else {
            r.kind = r.pattern.find('/') == std::string::npos ? Rule::kGlobBase : Rule::kGlobPath;
        }
        s.rules_.push_back(std::move(r));
    }
    if (s.rules_.empty()) throw input_error(name, "label map has no rules");
    s.warnings_ = dead_rule_warnings(s.rules_);
    return s;
}

LabelSource LabelSource::builtin(const std::string& table) {
    const BuiltinTable* t = find_builtin_table(table);
    if (!t) {
        std::string known;
        for (const std::string& n : builtin_table_names()) known += (known.empty() ? "" : ", ") + n;
        throw UsageError("--labels: unknown table '" + table + "' (known: " + known + ")");
    }
    LabelSource s;
    s.kind_ = Kind::kRules;
    s.rules_ = t->rules;
    s.builtin_vpn_prefix_ = t->vpn_prefix;
    s.canonical_ = t->class_order;
    s.description_ = "builtin:" + t->name;
    return s;
}

std::vector<std::string> LabelSource::builtin_tables() { return builtin_table_names(); }

CaptureLabel LabelSource::label(const std::string& capture_path) const {
    CaptureLabel out;
    if (kind_ == Kind::kFlows) {
        auto it = flows_->by_capture.find(base_name(capture_path));
        if (it == flows_->by_capture.end()) {
            out.why = "no flow of " + base_name(capture_path) + " in " + flows_->path;
            return out;
        }
        size_t with_class = 0;
        for (size_t r : it->second) with_class += !flows_->rows[r].cls.empty();
        out.why = flows_->path + ": " + std::to_string(it->second.size()) + (it->second.size() == 1 ? " flow" : " flows");
        if (with_class == 0) {
            out.status = LabelStatus::kExcluded;
            out.why += ", none with a class";
        } else {
            out.status = LabelStatus::kLabelled;
            out.why += ", " + std::to_string(with_class) + " with a class";
        }
        return out;
    }
    if (kind_ == Kind::kFixed) {
        out.status = LabelStatus::kLabelled;
        out.cls = fixed_;
        out.why = "--label " + fixed_;
        return out;
    }
    if (kind_ == Kind::kFromDir) {
        std::string dir = parent_dir_name(capture_path);
        if (!bad_class_name(dir).empty()) {
            out.why = "parent directory name '" + dir + "' is not a usable class name";
            return out;
        }
        out.status = LabelStatus::kLabelled;
        out.cls = dir;
        out.why = "directory " + dir;
        return out;
    }
    std::string stem = capture_stem(capture_path);
    bool vpn_prefix = false;
    if (builtin_vpn_prefix_ && stem.compare(0, 4, "vpn_") == 0) {
        vpn_prefix = true;
        stem = stem.substr(4);
    }
    for (const Rule& r : rules_) {
        if (!rule_matches(r, capture_path, stem)) continue;
        out.vpn = r.vpn || vpn_prefix;
        out.why = r.origin;
        if (r.cls.empty()) {
            out.status = LabelStatus::kExcluded;
            if (!r.note.empty()) out.why += ": " + r.note;
        } else {
            out.status = LabelStatus::kLabelled;
            out.cls = r.cls;
        }
        return out;
    }
    out.why = "no rule of " + description_ + " matches";
    return out;
}

std::vector<std::string> order_classes(const LabelSource& src,
                                       const std::vector<CaptureLabel>& labels) {
    std::set<std::string> present;
    for (const CaptureLabel& l : labels)
        if (l.status == LabelStatus::kLabelled) present.insert(l.cls);
    std::vector<std::string> out;
    for (const std::string& c : src.canonical_order())
        if (present.erase(c)) out.push_back(c);
    out.insert(out.end(), present.begin(), present.end());  // std::set: sorted
    return out;
}

}  // namespace flowpic
