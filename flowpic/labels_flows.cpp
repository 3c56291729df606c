// The flow table label source (--label-flows FILE): labels.h has the file's rules.
#include <arpa/inet.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/strings.h"
#include "flowpic/labels.h"

namespace flowpic {

namespace {

// "10.0.0.1" -> ::ffff:10.0.0.1 (as the decoder stores IPv4), "2001:db8::1" -> itself.
bool parse_address(const std::string& text, std::array<uint8_t, 16>& out, uint8_t& version) {
    out.fill(0);
    in_addr a4;
    if (inet_pton(AF_INET, text.c_str(), &a4) == 1) {
        out[10] = out[11] = 0xff;
        std::memcpy(&out[12], &a4, 4);
        version = 4;
        return true;
    }
    in6_addr a6;
    if (inet_pton(AF_INET6, text.c_str(), &a6) == 1) {
        std::memcpy(out.data(), &a6, 16);
        version = 6;
        return true;
    }
    return false;
}

bool parse_port(const std::string& text, uint16_t& out) {
    if (text.empty() || text.size() > 5) return false;
    uint32_t v = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + uint32_t(c - '0');
    }
    if (v > 65535) return false;
    out = uint16_t(v);
    return true;
}

std::string endpoint_text(const FiveTuple& t) {
    auto ep = [&](const std::array<uint8_t, 16>& a, uint16_t p) {
        std::string s = format_address(a, t.ip_version);
        return (t.ip_version == 6 ? "[" + s + "]" : s) + ":" + std::to_string(p);
    };
    return std::string(proto_name(t.proto)) + " " + ep(t.src, t.sport) + " - " + ep(t.dst, t.dport);
}

}  // namespace

std::string FlowLabelTable::key(const std::string& capture_base, const FiveTuple& t) {
    // Orientation-free: the smaller (address, port) endpoint first.
    auto a = std::make_pair(t.src, t.sport), b = std::make_pair(t.dst, t.dport);
    if (b < a) std::swap(a, b);
    std::string k = capture_base;
    k += '\0';
    k += char(t.proto);
    k.append(reinterpret_cast<const char*>(a.first.data()), 16);
    k += char(a.second >> 8);
    k += char(a.second);
    k.append(reinterpret_cast<const char*>(b.first.data()), 16);
    k += char(b.second >> 8);
    k += char(b.second);
    return k;
}

long FlowLabelTable::find(const std::string& capture_path, const FiveTuple& t) const {
    auto it = by_flow.find(key(base_name(capture_path), t));
    return it == by_flow.end() ? -1 : long(it->second);
}

LabelSource LabelSource::from_flow_file(const std::string& path) {
    LabelSource s = from_flow_text(read_label_file(path, "flow table"), path);
    s.print_warnings();
    return s;
}

LabelSource LabelSource::from_flow_text(const std::string& text, const std::string& name) {
    auto table = std::make_shared<FlowLabelTable>();
    table->path = name;
    static const char* const kColumns[] = {"pcap", "l4", "src", "sport", "dst", "dport", "class"};
    int col[7];
    std::vector<std::string> warnings;
    size_t fields = 0;
    bool have_header = false;
    std::istringstream in(text);
    std::string line;
    for (int lineno = 1; std::getline(in, line); ++lineno) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const std::string t = trim(line);
        if (t.empty() || t[0] == '#') continue;
        const std::string where = name + ":" + std::to_string(lineno);
        std::vector<std::string> f = split_on(line, '\t');
        if (!have_header) {
            for (int c = 0; c < 7; ++c) {
                auto it = std::find_if(f.begin(), f.end(), [&](const std::string& h) { return trim(h) == kColumns[c]; });
                if (it == f.end())
                    throw InputError(where + ": the header has no '" + kColumns[c] +
                                     "' column (a flow table needs pcap, l4, src, sport, dst, dport, class)");
                col[c] = int(it - f.begin());
            }
            fields = f.size();
            have_header = true;
            continue;
        }
        if (f.size() != fields)
            throw InputError(where + ": " + std::to_string(f.size()) + " tab-separated fields, the header has " +
                             std::to_string(fields));
        const std::string pcap = base_name(trim(f[col[0]])), l4 = trim(f[col[1]]);
        if (pcap.empty()) throw InputError(where + ": empty pcap");
        std::string l4u = l4;
        std::transform(l4u.begin(), l4u.end(), l4u.begin(), [](unsigned char c) { return std::toupper(c); });
        FiveTuple ft;
        if (l4u == "TCP") ft.proto = kProtoTcp;
        else if (l4u == "UDP") ft.proto = kProtoUdp;
        else if (l4u.empty()) throw InputError(where + ": empty l4 (TCP, UDP, ...)");
        else {
            table->other_l4_rows++;
            continue;
        }
        uint8_t v_src = 0, v_dst = 0;
        const std::string src = trim(f[col[2]]), dst = trim(f[col[4]]);
        // A row no decoded packet can ever match is a dead row, like a dead rule of a label
        // map: a warning, not an error (nDPI's own table has one such address).
        const bool src_ok = parse_address(src, ft.src, v_src), dst_ok = parse_address(dst, ft.dst, v_dst);
        if (!src_ok || !dst_ok) {
            warnings.push_back(where + ": " + (src_ok ? "dst '" + dst : "src '" + src) +
                               "' is not an IPv4 or IPv6 address: the row can match no flow");
            continue;
        }
        if (v_src != v_dst) {
            warnings.push_back(where + ": src and dst are not of one IP version: the row can match no flow");
            continue;
        }
        ft.ip_version = v_src;
        if (!parse_port(trim(f[col[3]]), ft.sport))
            throw InputError(where + ": sport '" + trim(f[col[3]]) + "' is not a port (0..65535)");
        if (!parse_port(trim(f[col[5]]), ft.dport))
            throw InputError(where + ": dport '" + trim(f[col[5]]) + "' is not a port (0..65535)");
        std::string cls = trim(f[col[6]]);
        if (cls == "-") cls.clear();
        if (!cls.empty())
            if (std::string bad = bad_class_name(cls); !bad.empty()) throw InputError(where + ": " + bad);
        const std::string k = FlowLabelTable::key(pcap, ft);
        auto [it, fresh] = table->by_flow.emplace(k, table->rows.size());
        if (!fresh) {
            const FlowLabelTable::Row& first = table->rows[it->second];
            if (first.cls != cls)
                throw InputError(where + ": " + pcap + " " + endpoint_text(ft) + " is listed at line " +
                                 std::to_string(first.line) + " with class '" + first.cls + "', here with '" + cls + "'");
        }
        table->by_capture[pcap].push_back(table->rows.size());
        table->rows.push_back({pcap, cls, lineno, it->second});
    }
    if (!have_header) throw input_error(name, "flow table is empty (no header line)");
    if (table->rows.empty()) throw input_error(name, "flow table lists no TCP or UDP flow");
    LabelSource s;
    s.kind_ = Kind::kFlows;
    s.description_ = "flows:" + name;
    s.flows_ = std::move(table);
    s.warnings_ = std::move(warnings);
    return s;
}

CaptureLabel LabelSource::label_flow(const std::string& capture_path, const FiveTuple& t, long* row) const {
    if (row) *row = -1;
    if (kind_ != Kind::kFlows) return label(capture_path);
    CaptureLabel out;
    const long r = flows_->find(capture_path, t);
    if (row) *row = r;
    if (r < 0) {
        out.why = "not in " + flows_->path;
        return out;
    }
    const FlowLabelTable::Row& x = flows_->rows[size_t(r)];
    out.why = flows_->path + ":" + std::to_string(x.line);
    if (x.cls.empty()) {
        out.status = LabelStatus::kExcluded;
        out.why += ": no class";
    } else {
        out.status = LabelStatus::kLabelled;
        out.cls = x.cls;
    }
    return out;
}

std::vector<std::string> flow_classes(const LabelSource& src, const std::vector<std::string>& captures) {
    std::set<std::string> present;
    if (const FlowLabelTable* t = src.flow_table())
        for (const std::string& c : captures) {
            auto it = t->by_capture.find(base_name(c));
            if (it == t->by_capture.end()) continue;
            for (size_t r : it->second)
                if (!t->rows[r].cls.empty()) present.insert(t->rows[r].cls);
        }
    return {present.begin(), present.end()};
}

}  // namespace flowpic
