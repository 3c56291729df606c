#include "study/grid.h"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <set>
#include <stdexcept>

#include "core/error.h"
#include "core/strings.h"
#include "nn/model_file.h"
#include "nn/train_recipe.h"

namespace flowpic {

namespace {

using json = nlohmann::json;

enum class Type { kReal, kInt, kChoice, kBool };

struct AxisDef {
    AxisInfo info;
    Type type;
    double lo = 0, hi = 0;           // numbers: the range, inclusive (lo exclusive when lo_open)
    bool lo_open = false;
    std::vector<std::string> choices;  // kChoice
    json def;                          // the default value
};

const std::vector<AxisDef>& defs() {
    static const std::vector<AxisDef> d = [] {
        const double inf = std::numeric_limits<double>::infinity();
        std::vector<AxisDef> v;
        auto add = [&](std::string name, AxisKind k, Type t, std::string help, json def, double lo = 0, double hi = 0,
                       std::vector<std::string> choices = {}, bool lo_open = false) {
            v.push_back(AxisDef{AxisInfo{std::move(name), k, std::move(help)}, t, lo, hi, lo_open, std::move(choices),
                                std::move(def)});
        };
        const auto P = AxisKind::kPrep, B = AxisKind::kBinning, T = AxisKind::kTrain;
        add("window", P, Type::kReal, "window length, seconds (0.001..4294)", 60.0, 0.001, 4294);
        add("overlap", P, Type::kReal, "overlap of consecutive windows (0..0.9)", 0.0, 0, 0.9);
        add("first", P, Type::kReal, "one window per flow, its first S seconds (0 = sliding windows; ..4294)", 0.0, 0, 4294);
        add("flows", P, Type::kChoice, "uni, bi, or auto (bi with first, else uni)", "auto", 0, 0, {"auto", "uni", "bi"});
        add("resolution", B, Type::kInt, "image side (1..1500)", 1500, 1, 1500);
        add("normalize", B, Type::kChoice, "span or fixed", "span", 0, 0, {"span", "fixed"});
        add("values", B, Type::kChoice, "count or binary", "count", 0, 0, {"count", "binary"});
        add("direction", B, Type::kChoice, "none, grey or channels", "none", 0, 0, {"none", "grey", "channels"});
        add("max-count", B, Type::kInt, "count cap per pixel (0 = none; ..65535)", 0, 0, 65535);
        add("bin-arith", B, Type::kChoice, "flowpic or tcbench", "flowpic", 0, 0, {"flowpic", "tcbench"});
        add("time-axis", B, Type::kReal, "bin only [0, S) of each window (0 = the window; ..4294)", 0.0, 0, 4294);
        add("arch", T, Type::kChoice, "flowpic (FlowPicNet, R >= 56) or lenet (mini-FlowPic, R >= 16)", "flowpic", 0, 0,
            {"flowpic", "lenet"});
        add("class-weights", T, Type::kChoice, "none or balanced", "none", 0, 0, {"none", "balanced"});
        add("augment", T, Type::kChoice, "none, changertt, timeshift, packetloss, rotate, hflip, colorjitter", "none", 0, 0,
            {"none", "changertt", "timeshift", "packetloss", "rotate", "hflip", "colorjitter"});
        add("augment-copies", T, Type::kInt, "samples per training window with an augmentation (1..1000)", 10, 1, 1000);
        add("augment-val", T, Type::kBool, "augment the validation split too (true/false)", false);
        add("epochs", T, Type::kInt, "epochs (1..100000)", 40, 1, 100000);
        add("batch", T, Type::kInt, "images per step (1..65536)", 128, 1, 65536);
        add("lr", T, Type::kReal, "Adam learning rate (> 0, at most 10)", 1e-3, 0, 10, {}, true);
        add("early-stop", T, Type::kInt, "epochs without a better model before stopping (0 = off; ..100000)", 0, 0, 100000);
        add("early-stop-delta", T, Type::kReal, "the gain a better model needs (>= 0)", 0.0, 0, inf);
        add("best-by", T, Type::kChoice, "loss or accuracy", "loss", 0, 0, {"loss", "accuracy"});
        return v;
    }();
    return d;
}

const AxisDef& def_of(const std::string& name) {
    for (const auto& d : defs())
        if (d.info.name == name) return d;
    throw std::logic_error("no axis " + name);
}

std::string axis_names() {
    std::string s;
    for (const auto& d : defs()) s += (s.empty() ? "" : ", ") + d.info.name;
    return s + ", seeds";
}

UsageError axis_error(const std::string& where, const std::string& axis, const std::string& what) {
    return UsageError(where + ": axis '" + axis + "': " + what);
}

std::string fmt_bound(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%g", v);
    return b;
}

json check_number(const AxisDef& d, double x, const std::string& text, const std::string& where) {
    const bool low_ok = d.lo_open ? x > d.lo : x >= d.lo;
    if (!std::isfinite(x) || !low_ok || x > d.hi)
        throw axis_error(where, d.info.name,
                         "'" + text + "' is not " + (d.type == Type::kInt ? "an integer" : "a number") + " " +
                             (d.lo_open ? "> " : ">= ") + fmt_bound(d.lo) +
                             (std::isinf(d.hi) ? "" : " and at most " + fmt_bound(d.hi)) + " (" + d.info.help + ")");
    if (d.type == Type::kInt) {
        if (x != std::floor(x)) throw axis_error(where, d.info.name, "'" + text + "' is not an integer (" + d.info.help + ")");
        return json(int64_t(x));
    }
    return json(double(x));
}

// The cartesian product of one part, axes in table order, the first varying slowest.
void product(const GridPart& part, std::vector<json>& out) {
    std::vector<std::pair<std::string, const std::vector<json>*>> axes;
    for (const auto& d : defs()) {
        auto it = part.find(d.info.name);
        if (it != part.end()) axes.push_back({d.info.name, &it->second});
    }
    std::vector<size_t> idx(axes.size(), 0);
    for (;;) {
        json cell = json::object();
        for (const auto& d : defs()) cell[d.info.name] = d.def;
        for (size_t a = 0; a < axes.size(); ++a) cell[axes[a].first] = (*axes[a].second)[idx[a]];
        out.push_back(std::move(cell));
        size_t a = axes.size();
        while (a > 0) {
            --a;
            if (++idx[a] < axes[a].second->size()) break;
            idx[a] = 0;
            if (a == 0) return;
        }
        if (axes.empty()) return;
    }
}

void normalise(json& c) {
    const double first = c["first"].is_number() ? c["first"].get<double>() : 0.0;  // null: --data without prep settings
    if (first > 0) {
        c["window"] = nullptr;
        c["overlap"] = nullptr;
    }
    if (c["flows"] == "auto") c["flows"] = first > 0 ? "bi" : "uni";
    if (c["augment"] == "none") {
        c["augment-copies"] = 1;
        c["augment-val"] = false;
    }
}

}  // namespace

const std::vector<AxisInfo>& sweep_axes() {
    static const std::vector<AxisInfo> v = [] {
        std::vector<AxisInfo> a;
        for (const auto& d : defs()) a.push_back(d.info);
        return a;
    }();
    return v;
}

const AxisInfo* find_axis(const std::string& name) {
    for (const auto& d : defs())
        if (d.info.name == name) return &d.info;
    return nullptr;
}

json canonical_value(const std::string& axis, const json& v, const std::string& where) {
    const AxisDef& d = def_of(axis);
    switch (d.type) {
        case Type::kReal:
        case Type::kInt:
            if (v.is_number()) return check_number(d, v.get<double>(), v.dump(), where);
            if (v.is_string()) return canonical_value_text(axis, v.get<std::string>(), where);
            break;
        case Type::kChoice:
            if (v.is_string()) return canonical_value_text(axis, v.get<std::string>(), where);
            break;
        case Type::kBool:
            if (v.is_boolean()) return v;
            if (v.is_string()) return canonical_value_text(axis, v.get<std::string>(), where);
            break;
    }
    throw axis_error(where, axis, "bad value " + v.dump() + " (" + d.info.help + ")");
}

json canonical_value_text(const std::string& axis, const std::string& raw, const std::string& where) {
    const AxisDef& d = def_of(axis);
    const std::string text(trim(raw));
    if (text.empty()) throw axis_error(where, axis, "an empty value (" + d.info.help + ")");
    switch (d.type) {
        case Type::kReal:
        case Type::kInt: {
            char* end = nullptr;
            const double x = std::strtod(text.c_str(), &end);
            if (*end != '\0') throw axis_error(where, axis, "'" + text + "' is not a number (" + d.info.help + ")");
            return check_number(d, x, text, where);
        }
        case Type::kChoice:
            for (const auto& c : d.choices)
                if (c == text) return json(text);
            throw axis_error(where, axis, "'" + text + "' is not one of " + d.info.help);
        case Type::kBool:
            if (text == "true" || text == "on" || text == "1") return json(true);
            if (text == "false" || text == "off" || text == "0") return json(false);
            throw axis_error(where, axis, "'" + text + "' is not true or false");
    }
    throw std::logic_error("axis type");
}

namespace {

std::vector<uint64_t> unique_seeds(std::vector<uint64_t> seeds, const std::string& where) {
    std::set<uint64_t> seen;
    for (uint64_t s : seeds)
        if (!seen.insert(s).second) throw axis_error(where, "seeds", "seed " + std::to_string(s) + " is listed twice");
    return seeds;
}

}  // namespace

std::vector<uint64_t> parse_seeds(const std::string& raw, const std::string& where) {
    const std::string text(trim(raw));
    auto bad = [&](const std::string& what) { return axis_error(where, "seeds", what + " (N for seeds 1..N, or a list 4,9)"); };
    if (text.empty()) throw bad("empty");
    std::vector<uint64_t> out;
    size_t start = 0;
    for (;;) {
        const size_t comma = text.find(',', start);
        const std::string item(trim(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
        if (item.empty()) throw bad("an empty value in '" + text + "'");
        char* end = nullptr;
        errno = 0;
        const unsigned long long v = std::strtoull(item.c_str(), &end, 10);
        if (*end != '\0' || item[0] == '-' || errno) throw bad("'" + item + "' is not a whole number");
        out.push_back(v);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    if (out.size() == 1 && text.find(',') == std::string::npos) {
        const uint64_t n = out[0];
        if (n < 1 || n > 1000) throw bad("a count of seeds must be 1..1000, not " + text);
        out.clear();
        for (uint64_t s = 1; s <= n; ++s) out.push_back(s);
    }
    return unique_seeds(std::move(out), where);
}

namespace {

void read_part(const json& obj, GridPart& part, std::vector<uint64_t>* seeds, const std::string& where,
               bool allow_parts) {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
        const std::string& k = it.key();
        if (k == "parts" && allow_parts) continue;
        if (k == "seeds") {
            if (!seeds) throw axis_error(where, "seeds", "goes at the top level, not inside \"parts\"");
            if (it->is_number_unsigned() || it->is_number_integer())
                *seeds = parse_seeds(std::to_string(it->get<int64_t>()), where);
            else if (it->is_array()) {
                if (it->empty()) throw axis_error(where, "seeds", "empty axis");
                std::vector<uint64_t> list;
                for (const auto& s : *it) {
                    if (!s.is_number_unsigned() && !(s.is_number_integer() && s.get<int64_t>() >= 0))
                        throw axis_error(where, "seeds", "bad value " + s.dump() + " (whole numbers)");
                    list.push_back(s.get<uint64_t>());
                }
                *seeds = unique_seeds(std::move(list), where);
            } else
                throw axis_error(where, "seeds", "bad value " + it->dump() + " (N, or a list of seeds)");
            continue;
        }
        if (!find_axis(k)) throw UsageError(where + ": unknown axis '" + k + "' (axes: " + axis_names() + ")");
        std::vector<json> values;
        if (it->is_array()) {
            if (it->empty()) throw axis_error(where, k, "empty axis (give at least one value)");
            for (const auto& v : *it) values.push_back(canonical_value(k, v, where));
        } else {
            values.push_back(canonical_value(k, *it, where));
        }
        part[k] = std::move(values);
    }
}

}  // namespace

Grid parse_grid_json(const std::string& text, const std::string& path) {
    json j;
    try {
        j = json::parse(text);
    } catch (const json::parse_error& e) {
        throw UsageError(path + ": not JSON: " + e.what());
    }
    if (!j.is_object()) throw UsageError(path + ": a grid is a JSON object {\"axis\": [values], ...}");
    Grid g;
    GridPart common;
    read_part(j, common, &g.seeds, path, true);
    if (j.contains("parts")) {
        const json& parts = j["parts"];
        if (!parts.is_array() || parts.empty())
            throw UsageError(path + ": \"parts\" must be a non-empty list of grid objects");
        g.parts.clear();
        for (size_t i = 0; i < parts.size(); ++i) {
            if (!parts[i].is_object()) throw UsageError(path + ": parts[" + std::to_string(i) + "] is not an object");
            GridPart p = common;
            read_part(parts[i], p, nullptr, path + ": parts[" + std::to_string(i) + "]", false);
            g.parts.push_back(std::move(p));
        }
    } else {
        g.parts = {common};
    }
    return g;
}

void set_axis(Grid& g, const std::string& axis, const std::string& list) {
    const std::string where = "--" + axis;
    if (!find_axis(axis)) throw UsageError("unknown axis '" + axis + "' (axes: " + axis_names() + ")");
    if (trim(list).empty()) throw axis_error(where, axis, "empty axis (give at least one value)");
    std::vector<json> values;
    size_t start = 0;
    for (;;) {
        const size_t comma = list.find(',', start);
        values.push_back(canonical_value_text(axis, list.substr(start, comma == std::string::npos ? std::string::npos
                                                                                                  : comma - start),
                                              where));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    for (GridPart& p : g.parts) p[axis] = values;
}

std::vector<std::string> preset_names() { return {"seed", "ucdavis"}; }

Grid preset_grid(const std::string& name) {
    const std::string where = "--preset " + name;
    auto vals = [&](const std::string& axis, const std::vector<json>& v) {
        std::vector<json> out;
        for (const auto& x : v) out.push_back(canonical_value(axis, x, where));
        return out;
    };
    Grid g;
    if (name == "seed") {
        // The original study: 60/30/10 s windows at 25% and 75% overlap, bidirectional flows,
        // binary pixels, direction as grey levels and as channels, class weights off and
        // balanced, the authors' FlowPicNet at 1500x1500.
        GridPart p;
        p["window"] = vals("window", {60, 30, 10});
        p["overlap"] = vals("overlap", {0.25, 0.75});
        p["flows"] = vals("flows", {"bi"});
        p["values"] = vals("values", {"binary"});
        p["direction"] = vals("direction", {"grey", "channels"});
        p["class-weights"] = vals("class-weights", {"none", "balanced"});
        p["arch"] = vals("arch", {"flowpic"});
        p["resolution"] = vals("resolution", {1500});
        g.parts = {p};
        return g;
    }
    if (name == "ucdavis") {
        // IMC'23 (tcbench): first 15 s of each flow, 32/64 (mini-FlowPic LeNet) and 1500
        // (FlowPicNet), none and the packet augmentations, tcbench's training.
        using P = TcbenchPreset;
        GridPart common;
        common["first"] = vals("first", {15});
        common["normalize"] = vals("normalize", {P::normalize});
        common["values"] = vals("values", {P::values});
        common["direction"] = vals("direction", {P::direction});
        common["max-count"] = vals("max-count", {P::max_count});
        common["bin-arith"] = vals("bin-arith", {P::arith});
        common["augment"] = vals("augment", {"none", "changertt", "timeshift", "packetloss"});
        common["augment-copies"] = vals("augment-copies", {10});
        common["augment-val"] = vals("augment-val", {P::augment_val});
        common["lr"] = vals("lr", {P::lr});
        common["batch"] = vals("batch", {P::batch});
        common["epochs"] = vals("epochs", {P::epochs});
        common["early-stop"] = vals("early-stop", {P::early_stop});
        common["early-stop-delta"] = vals("early-stop-delta", {P::early_stop_delta});
        common["best-by"] = vals("best-by", {P::best_by});
        GridPart mini = common, full = common;
        mini["arch"] = vals("arch", {"lenet"});
        mini["resolution"] = vals("resolution", {32, 64});
        full["arch"] = vals("arch", {"flowpic"});
        full["resolution"] = vals("resolution", {1500});
        g.parts = {mini, full};
        return g;
    }
    throw UsageError("--preset: unknown preset '" + name + "' (seed or ucdavis)");
}

void prune_parts(Grid& g, std::vector<std::string>& notes) {
    std::vector<GridPart> keep;
    std::vector<std::string> dropped;
    for (size_t i = 0; i < g.parts.size(); ++i) {
        const GridPart& p = g.parts[i];
        auto values = [&](const char* axis) {
            auto it = p.find(axis);
            return it == p.end() ? std::vector<json>{def_of(axis).def} : it->second;
        };
        std::string pairs;
        for (const json& a : values("arch"))
            for (const json& r : values("resolution")) {
                NetSpec spec{parse_arch(a.get<std::string>()), int(r.get<int64_t>()), 1, 2};
                try {
                    model_tensor_shapes(spec);
                } catch (const std::invalid_argument&) {
                    pairs += (pairs.empty() ? "" : ", ") + a.get<std::string>() + " at " + r.dump();
                }
            }
        if (pairs.empty())
            keep.push_back(p);
        else
            dropped.push_back("left out the preset's part " + std::to_string(i + 1) + ": its net cannot take " + pairs);
    }
    if (keep.empty()) return;  // nothing would be left: expand_grid names the problem
    g.parts = std::move(keep);
    notes.insert(notes.end(), dropped.begin(), dropped.end());
}

void check_cell(const json& c, const std::string& where) {
    const BinningOptions b = [&] {
        try {
            return cell_binning(c);
        } catch (const UsageError& e) {
            throw UsageError(where + ": " + e.what());
        }
    }();
    try {
        validate(b);
    } catch (const UsageError& e) {
        const std::string axis = b.axis_us && b.normalize == Normalize::span ? "time-axis" : "resolution";
        throw axis_error(where, axis, e.what());
    }
    NetSpec spec = net_spec_for(cell_arch(c), b, 2);
    try {
        model_tensor_shapes(spec);
    } catch (const std::invalid_argument& e) {
        throw axis_error(where, "arch", c["arch"].get<std::string>() + " cannot take resolution " +
                                            std::to_string(b.resolution) + " (FlowPicNet needs R >= 56, LeNet R >= 16; nn/network.h): " +
                                            e.what());
    }
    const TrainConfig cfg = cell_train_config(c, 1);
    try {
        if (cfg.augment.active()) validate(cfg.augment, b);
    } catch (const UsageError& e) {
        throw axis_error(where, "augment", e.what());
    }
}

std::vector<json> expand_grid(const Grid& g, const std::string& where) {
    if (g.seeds.empty()) throw axis_error(where, "seeds", "empty axis");
    std::vector<json> cells, out;
    for (const GridPart& p : g.parts) {
        for (const auto& [axis, values] : p)
            if (values.empty()) throw axis_error(where, axis, "empty axis (give at least one value)");
        product(p, cells);
    }
    std::set<std::string> seen;
    for (json& c : cells) {
        normalise(c);
        if (!seen.insert(c.dump()).second) continue;
        check_cell(c, where);
        out.push_back(std::move(c));
    }
    return out;
}

BinningOptions cell_binning(const json& c) {
    BinningOptions b;
    b.resolution = int(c["resolution"].get<int64_t>());
    b.normalize = parse_normalize(c["normalize"].get<std::string>());
    b.values = parse_values(c["values"].get<std::string>());
    b.direction = parse_direction(c["direction"].get<std::string>());
    b.max_count = uint32_t(c["max-count"].get<int64_t>());
    b.arith = parse_arith(c["bin-arith"].get<std::string>());
    b.axis_us = uint32_t(std::llround(c["time-axis"].get<double>() * 1e6));
    return b;
}

Arch cell_arch(const json& c) { return parse_arch(c["arch"].get<std::string>()); }

TrainConfig cell_train_config(const json& c, uint64_t seed) {
    TrainConfig cfg;
    cfg.epochs = int(c["epochs"].get<int64_t>());
    cfg.batch = int(c["batch"].get<int64_t>());
    cfg.adam.lr = c["lr"].get<double>();
    cfg.seed = seed;
    cfg.class_weights = c["class-weights"] == "balanced" ? ClassWeighting::kBalanced : ClassWeighting::kNone;
    cfg.best_by = c["best-by"] == "accuracy" ? BestBy::kValAccuracy : BestBy::kValLoss;
    cfg.early_stop = int(c["early-stop"].get<int64_t>());
    cfg.early_stop_delta = c["early-stop-delta"].get<double>();
    cfg.augment = make_augment_options(parse_augment(c["augment"].get<std::string>()), AugmentParams{},
                                       int(c["augment-copies"].get<int64_t>()), c["augment-val"].get<bool>(), seed);
    cfg.progress = false;
    return cfg;
}

WindowOptions cell_windows(const json& c, WindowOptions w) {
    w.view = parse_flow_view(c["flows"].get<std::string>());
    w.first_s = c["first"].get<double>();
    if (w.first_s <= 0) {
        w.window_s = c["window"].get<double>();
        w.overlap = c["overlap"].get<double>();
    }
    return w;
}

json cell_prep_axes(const json& c) {
    json p = json::object();
    for (const auto& d : defs())
        if (d.info.kind == AxisKind::kPrep) p[d.info.name] = c[d.info.name];
    return p;
}

std::vector<std::string> varying_axes(const std::vector<json>& cells) {
    std::vector<std::string> out;
    for (const auto& d : defs()) {
        std::set<std::string> values;
        for (const auto& c : cells)
            if (c.contains(d.info.name)) values.insert(c[d.info.name].dump());
        if (values.size() > 1) out.push_back(d.info.name);
    }
    return out;
}

std::string settings_hash(const std::string& text) {
    uint64_t h = 14695981039346656037ull;  // FNV-1a 64 offset basis
    for (unsigned char ch : text) {
        h ^= ch;
        h *= 1099511628211ull;
    }
    char b[17];
    std::snprintf(b, sizeof b, "%016llx", (unsigned long long)h);
    return b;
}

}  // namespace flowpic
