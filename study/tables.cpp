// results.csv and results.md of a sweep (study/sweep.h): one row per cell line.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "study/grid.h"
#include "study/stats.h"
#include "study/sweep.h"

namespace flowpic {

namespace {

using json = nlohmann::json;

const char* kMetricColumns[] = {"n",           "accuracy_mean",      "accuracy_ci95",      "accuracy_sd",
                                "accuracy_min", "accuracy_max",      "macro_f1_mean",      "macro_f1_ci95",
                                "train_s",     "train_images_per_s", "infer_images_per_s", "infer_batch",
                                "b1_p50_us",   "b1_p99_us",          "peak_rss_mb",        "params",
                                "model_bytes"};

std::string num(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.6g", v);
    return b;
}

std::string csv_field(const json& v) {
    if (v.is_null()) return "";
    if (v.is_number()) return num(v.get<double>());
    if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
    std::string s = v.is_string() ? v.get<std::string>() : v.dump();
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
}

std::string md_value(const json& v) {
    if (v.is_null()) return "–";
    if (v.is_number()) return num(v.get<double>());
    if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
    return v.is_string() ? v.get<std::string>() : v.dump();
}

double number_or(const json& c, const char* key, double fallback) {
    return c.contains(key) && c[key].is_number() ? c[key].get<double>() : fallback;
}

std::vector<bool> pareto_flags(const std::vector<json>& cells) {
    std::vector<double> cost, value;
    for (const json& c : cells) {
        cost.push_back(number_or(c, "b1_p50_us", NAN));
        value.push_back(number_or(c, "accuracy_mean", NAN));
    }
    std::vector<bool> on(cells.size(), false);
    for (size_t i : pareto_front(cost, value)) on[i] = true;
    return on;
}

std::vector<std::string> class_names(const std::vector<json>& cells) {
    std::vector<std::string> out;
    std::set<std::string> seen;
    for (const json& c : cells)
        if (c.contains("per_class_f1"))
            for (auto it = c["per_class_f1"].begin(); it != c["per_class_f1"].end(); ++it)
                if (seen.insert(it.key()).second) out.push_back(it.key());
    return out;
}

std::vector<json> settings_of(const std::vector<json>& cells) {
    std::vector<json> s;
    for (const json& c : cells) s.push_back(c.value("settings", json::object()));
    return s;
}

}  // namespace

std::string results_csv(const std::vector<json>& cells) {
    const std::vector<std::string> classes = class_names(cells);
    const std::vector<bool> pareto = pareto_flags(cells);
    std::string out = "key,kind";
    for (const auto& a : sweep_axes()) out += "," + a.name;
    out += ",seeds";
    for (const char* m : kMetricColumns) out += std::string(",") + m;
    out += ",pareto";
    for (const auto& c : classes) out += "," + csv_field(json("f1_" + c));
    out += "\n";
    for (size_t i = 0; i < cells.size(); ++i) {
        const json& c = cells[i];
        const json s = c.value("settings", json::object());
        out += csv_field(c.value("key", json())) + "," + csv_field(c.value("kind", json()));
        for (const auto& a : sweep_axes()) out += "," + csv_field(s.contains(a.name) ? s[a.name] : json());
        std::string seeds;
        for (const auto& x : c.value("seeds", json::array())) seeds += (seeds.empty() ? "" : " ") + x.dump();
        out += "," + seeds;
        for (const char* m : kMetricColumns) out += "," + csv_field(c.contains(m) ? c[m] : json());
        out += pareto[i] ? ",true" : ",false";
        for (const auto& name : classes) {
            const json pc = c.value("per_class_f1", json::object());
            out += "," + csv_field(pc.contains(name) ? pc[name] : json());
        }
        out += "\n";
    }
    return out;
}

std::string results_md(const std::vector<json>& cells) {
    const std::vector<bool> pareto = pareto_flags(cells);
    const std::vector<json> settings = settings_of(cells);
    std::vector<std::string> vary = varying_axes(settings);
    bool classical = false;
    for (const json& c : cells) classical |= c.value("kind", "") == "classical";
    if (classical && std::find(vary.begin(), vary.end(), "arch") == vary.end()) vary.insert(vary.begin(), "arch");

    std::string out;
    // The settings every row shares, once above the table.
    std::string fixed;
    for (const json& s : settings) {
        if (s.value("arch", "") == "rf" || s.value("arch", "") == "et" || s.value("arch", "") == "xgb") continue;
        for (const auto& a : sweep_axes())
            if (std::find(vary.begin(), vary.end(), a.name) == vary.end() && s.contains(a.name) && !s[a.name].is_null())
                fixed += (fixed.empty() ? "" : ", ") + a.name + " " + md_value(s[a.name]);
        break;
    }
    if (!fixed.empty()) out += "Every neural row: " + fixed + ".\n\n";
    int batch = 0;
    for (const json& c : cells)
        if (c.contains("infer_batch") && c["infer_batch"].is_number()) batch = c["infer_batch"].get<int>();

    out += "| # |";
    for (const auto& a : vary) out += " " + a + " |";
    out += " accuracy % (95% CI) | macro-F1 | train s | train img/s | infer img/s (batch " + std::to_string(batch) +
           ") | batch-1 p50 / p99 µs | peak RSS MB | params | Pareto |\n|---:|";
    for (size_t i = 0; i < vary.size(); ++i) out += "---|";
    out += "---:|---:|---:|---:|---:|---:|---:|---:|---|\n";

    std::vector<size_t> order(cells.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return number_or(cells[a], "accuracy_mean", -1) > number_or(cells[b], "accuracy_mean", -1);
    });
    auto fmt = [](const char* f, double v) {
        char b[64];
        std::snprintf(b, sizeof b, f, v);
        return std::string(b);
    };
    for (size_t r = 0; r < order.size(); ++r) {
        const json& c = cells[order[r]];
        const json& s = settings[order[r]];
        out += "| " + std::to_string(r + 1) + " |";
        for (const auto& a : vary) out += " " + (s.contains(a) ? md_value(s[a]) : std::string("–")) + " |";
        const double acc = number_or(c, "accuracy_mean", NAN), ci = number_or(c, "accuracy_ci95", NAN);
        out += " " + (std::isnan(acc) ? std::string("–") : fmt("%.2f", 100 * acc)) +
               (std::isnan(ci) || number_or(c, "n", 0) < 2 ? "" : " ± " + fmt("%.2f", 100 * ci)) + " |";
        auto cell = [&](const char* key, const char* f, double scale = 1) {
            const double v = number_or(c, key, NAN);
            return " " + (std::isnan(v) ? std::string("–") : fmt(f, v * scale)) + " |";
        };
        out += cell("macro_f1_mean", "%.3f") + cell("train_s", "%.1f") + cell("train_images_per_s", "%.0f") +
               cell("infer_images_per_s", "%.0f");
        const double p50 = number_or(c, "b1_p50_us", NAN), p99 = number_or(c, "b1_p99_us", NAN);
        out += " " + (std::isnan(p50) ? std::string("–") : fmt("%.0f", p50)) + " / " +
               (std::isnan(p99) ? std::string("–") : fmt("%.0f", p99)) + " |";
        out += cell("peak_rss_mb", "%.0f") + cell("params", "%.0f") + (pareto[order[r]] ? " yes |" : " |") + "\n";
    }
    return out;
}

}  // namespace flowpic
