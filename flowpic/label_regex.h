// The regular expressions of label rules (`re:` in a label map, the built-in tables),
// matched in time linear in the name: a Thompson NFA run as a Pike VM (every thread steps
// in lock-step, one visit per state per byte), so no rule can hang a run the way
// std::regex's backtracking does on `re:a?+b` or `(a*)*b` (seconds on 30 characters).
//
// The language is the ECMAScript subset label rules need (docs/LABELS.md):
//   literals, `.` (any byte but newline), `[...]`/`[^...]` with ranges and escapes,
//   `\d \w \s \D \W \S`, `\t \n \r \f \v \0 \xHH`, escaped punctuation,
//   groups `(...)` and `(?:...)`, alternation `|`, `*` `+` `?` `{n}` `{n,}` `{n,m}`
//   (m <= 1000; a trailing `?` for laziness is accepted and changes nothing for a yes/no
//   match), anchors `^` `$`.
// Refused with a message: backreferences, lookaround, `\b`, a quantifier on a quantifier
// (`a?+`, `a**`: "nothing to repeat", as in JavaScript), patterns over 1000 bytes, nesting
// over 100 levels, and programs over 20,000 states (from counted repeats).
// Bytes are matched as bytes, case-sensitively.
#pragma once
#include <bitset>
#include <cstdint>
#include <string>
#include <vector>

namespace flowpic {

class LabelRegex {
public:
    // Throws std::invalid_argument with what is wrong (the caller adds FILE:LINE).
    explicit LabelRegex(const std::string& pattern);

    bool search(const std::string& s) const;  // matches somewhere in s (std::regex_search)
    bool match(const std::string& s) const;   // matches all of s (std::regex_match)
    // True when search() is true for every non-empty string (`.*`, `x*`, `^`): a rule
    // after it can never match.  False is no promise either way.
    bool matches_everything() const;

    struct Inst {
        enum Op : uint8_t { kByte, kSet, kSplit, kJmp, kBol, kEol, kMatch } op;
        uint8_t byte = 0;
        uint32_t x = 0, y = 0;  // jump targets; kSet: x = index into sets_
    };

private:
    bool run(const std::string& s, bool whole) const;
    std::vector<Inst> prog_;
    std::vector<std::bitset<256>> sets_;
};

}  // namespace flowpic
