// String helpers shared by the readers of small text formats (label maps, model metadata).
#pragma once
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

}  // namespace flowpic
