// The built-in label tables (internal to flowpic/labels.cpp; documented in docs/LABELS.md).
#pragma once
#include <string>
#include <vector>

#include "flowpic/labels.h"

namespace flowpic {

struct BuiltinTable {
    std::string name;
    std::vector<LabelSource::Rule> rules;  // kRegexStem rules, first match wins
    std::vector<std::string> class_order;
    bool vpn_prefix = false;  // a leading "vpn_" sets the vpn flag and is stripped first
};

// nullptr when no table has that name.
const BuiltinTable* find_builtin_table(const std::string& name);
std::vector<std::string> builtin_table_names();

}  // namespace flowpic
