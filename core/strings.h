// String helpers shared by the readers of small text formats (label maps, model metadata).
#pragma once
#include <cctype>
#include <string>
#include <vector>

namespace flowpic {

// "a,b,,c" split on ',' -> {"a", "b", "", "c"}; an empty string gives {""}.
inline std::vector<std::string> split_on(const std::string& s, char sep) {
    std::vector<std::string> out;
    size_t pos = 0;
    for (;;) {
        size_t at = s.find(sep, pos);
        out.push_back(s.substr(pos, at == std::string::npos ? std::string::npos : at - pos));
        if (at == std::string::npos) break;
        pos = at + 1;
    }
    return out;
}

// Leading and trailing whitespace removed.
inline std::string trim(const std::string& s) {
    size_t b = 0, e = s.size();
    while (b < e && std::isspace((unsigned char)s[b])) ++b;
    while (e > b && std::isspace((unsigned char)s[e - 1])) --e;
    return s.substr(b, e - b);
}

}  // namespace flowpic
