// LabelRegex (flowpic/label_regex.h): a recursive-descent parser to a small tree, the
// tree compiled to Thompson NFA instructions, and a Pike VM that runs them.
#include "flowpic/label_regex.h"

#include <stdexcept>
#include <utility>

namespace flowpic {

namespace {

constexpr size_t kMaxPattern = 1000;
constexpr int kMaxDepth = 100;
constexpr int kMaxCount = 1000;
constexpr size_t kMaxProgram = 20000;

using Set = std::bitset<256>;

struct Node {
    enum Type : uint8_t { kEmpty, kByte, kSet, kCat, kAlt, kRepeat, kBol, kEol } type = kEmpty;
    uint8_t byte = 0;
    Set set;
    int min = 0, max = 0;  // kRepeat; max -1: unbounded
    std::vector<Node> kids;
};

Set class_set(char c) {  // \d \w \s and their negations
    Set s;
    for (int b = 0; b < 256; ++b) {
        bool in = false;
        switch (c | 0x20) {
            case 'd': in = b >= '0' && b <= '9'; break;
            case 'w': in = (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || b == '_'; break;
            case 's': in = b == ' ' || (b >= '\t' && b <= '\r'); break;
        }
        s[size_t(b)] = in;
    }
    return c >= 'A' && c <= 'Z' ? ~s : s;
}

class Parser {
public:
    explicit Parser(const std::string& p) : p_(p) {}

    Node parse() {
        Node n = alternation(0);
        if (i_ < p_.size()) fail("unmatched ')'");  // alternation stops only at ')' or the end
        return n;
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw std::invalid_argument(what + " at offset " + std::to_string(i_));
    }
    bool more() const { return i_ < p_.size(); }
    char peek() const { return p_[i_]; }

    Node alternation(int depth) {
        if (depth > kMaxDepth) fail("groups nested deeper than " + std::to_string(kMaxDepth));
        Node alt;
        alt.type = Node::kAlt;
        alt.kids.push_back(sequence(depth));
        while (more() && peek() == '|') {
            ++i_;
            alt.kids.push_back(sequence(depth));
        }
        return alt.kids.size() == 1 ? std::move(alt.kids[0]) : alt;
    }

    Node sequence(int depth) {
        Node cat;
        cat.type = Node::kCat;
        while (more() && peek() != '|' && peek() != ')') {
            Node a = atom(depth);
            if (more() && is_quantifier()) {
                if (a.type == Node::kBol || a.type == Node::kEol) fail("nothing to repeat (a quantifier after an anchor)");
                a = quantified(std::move(a));
                if (more() && peek() == '?') ++i_;  // lazy: the same yes/no answer
                if (more() && is_quantifier()) fail("nothing to repeat (a quantifier after a quantifier)");
            }
            cat.kids.push_back(std::move(a));
        }
        return cat;
    }

    bool is_quantifier() const { return peek() == '*' || peek() == '+' || peek() == '?' || peek() == '{'; }

    int number() {
        if (!more() || peek() < '0' || peek() > '9') fail("bad {n,m} repeat (write \\{ for a literal brace)");
        long v = 0;
        while (more() && peek() >= '0' && peek() <= '9') {
            v = v * 10 + (peek() - '0');
            if (v > kMaxCount) fail("repeat count over " + std::to_string(kMaxCount));
            ++i_;
        }
        return int(v);
    }

    Node quantified(Node a) {
        Node r;
        r.type = Node::kRepeat;
        const char q = p_[i_++];
        if (q == '*') r.min = 0, r.max = -1;
        else if (q == '+') r.min = 1, r.max = -1;
        else if (q == '?') r.min = 0, r.max = 1;
        else {
            r.min = number();
            r.max = r.min;
            if (more() && peek() == ',') {
                ++i_;
                r.max = more() && peek() == '}' ? -1 : number();
            }
            if (!more() || peek() != '}') fail("bad {n,m} repeat (write \\{ for a literal brace)");
            ++i_;
            if (r.max != -1 && r.max < r.min) fail("repeat {n,m} with m < n");
        }
        r.kids.push_back(std::move(a));
        return r;
    }

    Node byte_node(uint8_t b) {
        Node n;
        n.type = Node::kByte;
        n.byte = b;
        return n;
    }

    int hex(int digits) {
        int v = 0;
        for (int k = 0; k < digits; ++k) {
            if (!more()) fail("short hex escape");
            const char c = p_[i_++];
            int d = c >= '0' && c <= '9' ? c - '0' : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10 : -1;
            if (d < 0) fail("bad hex escape");
            v = v * 16 + d;
        }
        return v;
    }

    // After a backslash: a single byte (returned) or a class (in `set`, returns -1).
    int escape(Set& set, bool in_class) {
        if (!more()) fail("pattern ends with a backslash");
        const char c = p_[i_++];
        switch (c) {
            case 'd': case 'D': case 'w': case 'W': case 's': case 'S': set = class_set(c); return -1;
            case 't': return '\t';
            case 'n': return '\n';
            case 'r': return '\r';
            case 'f': return '\f';
            case 'v': return '\v';
            case '0':
                if (more() && peek() >= '0' && peek() <= '9') fail("octal escapes are not supported");
                return 0;
            case 'x': return hex(2);
            case 'u': {
                int v = hex(4);
                if (v > 255) fail("\\u escape beyond one byte (match UTF-8 bytes instead)");
                return v;
            }
            case 'b':
                if (in_class) return '\b';
                fail("word boundaries (\\b) are not supported");
            default: break;
        }
        if (c >= '1' && c <= '9') fail("backreferences are not supported");
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
            fail(std::string("unknown escape \\") + c);
        return uint8_t(c);
    }

    Node char_class() {  // after '['
        Node n;
        n.type = Node::kSet;
        bool negate = more() && peek() == '^';
        if (negate) ++i_;
        for (;;) {
            if (!more()) fail("unterminated [ ]");
            if (peek() == ']') {
                ++i_;
                break;
            }
            Set esc;
            int lo = p_[i_] == '\\' ? (++i_, escape(esc, true)) : uint8_t(p_[i_++]);
            if (lo < 0) {
                n.set |= esc;
                continue;
            }
            if (i_ + 1 < p_.size() && peek() == '-' && p_[i_ + 1] != ']') {
                ++i_;
                int hi = p_[i_] == '\\' ? (++i_, escape(esc, true)) : uint8_t(p_[i_++]);
                if (hi < 0) fail("a class escape cannot end a range");
                if (hi < lo) fail("range out of order in [ ]");
                for (int b = lo; b <= hi; ++b) n.set[size_t(b)] = true;
            } else {
                n.set[size_t(lo)] = true;
            }
        }
        if (negate) n.set = ~n.set;
        return n;
    }

    Node atom(int depth) {
        const char c = p_[i_++];
        switch (c) {
            case '(': {
                if (more() && peek() == '?') {
                    if (i_ + 1 < p_.size() && p_[i_ + 1] == ':') i_ += 2;
                    else fail("lookaround and named groups are not supported");
                }
                Node inner = alternation(depth + 1);
                if (!more() || peek() != ')') fail("missing ')'");
                ++i_;
                return inner;
            }
            case '[': return char_class();
            case '.': {
                Node n;
                n.type = Node::kSet;
                n.set.set();
                n.set['\n'] = false;
                return n;
            }
            case '^': { Node n; n.type = Node::kBol; return n; }
            case '$': { Node n; n.type = Node::kEol; return n; }
            case '\\': {
                Set set;
                int b = escape(set, false);
                if (b >= 0) return byte_node(uint8_t(b));
                Node n;
                n.type = Node::kSet;
                n.set = set;
                return n;
            }
            case '*': case '+': case '?': case '{':
                --i_;
                fail("nothing to repeat");
            default:
                return byte_node(uint8_t(c));
        }
    }

    const std::string& p_;
    size_t i_ = 0;
};

using Inst = LabelRegex::Inst;

class Compiler {
public:
    Compiler(std::vector<Inst>& prog, std::vector<Set>& sets) : prog_(prog), sets_(sets) {}

    void emit(const Node& n) {
        switch (n.type) {
            case Node::kEmpty: return;
            case Node::kByte: push({Inst::kByte, n.byte}); return;
            case Node::kSet:
                sets_.push_back(n.set);
                push({Inst::kSet, 0, uint32_t(sets_.size() - 1)});
                return;
            case Node::kBol: push({Inst::kBol}); return;
            case Node::kEol: push({Inst::kEol}); return;
            case Node::kCat:
                for (const Node& k : n.kids) emit(k);
                return;
            case Node::kAlt: {
                std::vector<size_t> to_end;
                for (size_t k = 0; k < n.kids.size(); ++k) {
                    if (k + 1 < n.kids.size()) {
                        const size_t split = push({Inst::kSplit});
                        prog_[split].x = uint32_t(prog_.size());
                        emit(n.kids[k]);
                        to_end.push_back(push({Inst::kJmp}));
                        prog_[split].y = uint32_t(prog_.size());
                    } else {
                        emit(n.kids[k]);
                    }
                }
                for (size_t j : to_end) prog_[j].x = uint32_t(prog_.size());
                return;
            }
            case Node::kRepeat: {
                const Node& k = n.kids[0];
                for (int c = 0; c < n.min; ++c) emit(k);
                if (n.max == -1) {  // L: split(body, out); body; jmp L
                    const size_t loop = push({Inst::kSplit});
                    prog_[loop].x = uint32_t(prog_.size());
                    emit(k);
                    prog_[push({Inst::kJmp})].x = uint32_t(loop);
                    prog_[loop].y = uint32_t(prog_.size());
                    return;
                }
                std::vector<size_t> skips;  // each optional copy may jump to the end
                for (int c = n.min; c < n.max; ++c) {
                    const size_t split = push({Inst::kSplit});
                    prog_[split].x = uint32_t(prog_.size());
                    skips.push_back(split);
                    emit(k);
                }
                for (size_t j : skips) prog_[j].y = uint32_t(prog_.size());
                return;
            }
        }
    }

    size_t push(Inst i) {
        if (prog_.size() >= kMaxProgram)
            throw std::invalid_argument("pattern compiles to over " + std::to_string(kMaxProgram) +
                                        " states (smaller repeat counts)");
        prog_.push_back(i);
        return prog_.size() - 1;
    }

private:
    std::vector<Inst>& prog_;
    std::vector<Set>& sets_;
};

}  // namespace

LabelRegex::LabelRegex(const std::string& pattern) {
    if (pattern.size() > kMaxPattern)
        throw std::invalid_argument("pattern longer than " + std::to_string(kMaxPattern) + " bytes");
    Node tree = Parser(pattern).parse();
    Compiler c(prog_, sets_);
    c.emit(tree);
    c.push({Inst::kMatch});
}

// Follows jumps, splits and anchors from pc at position pos (of a string of length len)
// and adds the byte-consuming and match states reached to `list`, each once.
static void add_thread(const std::vector<LabelRegex::Inst>& prog, std::vector<uint32_t>& list,
                       std::vector<uint32_t>& mark, uint32_t gen, std::vector<uint32_t>& stack, uint32_t pc,
                       size_t pos, size_t len) {
    stack.assign(1, pc);
    while (!stack.empty()) {
        uint32_t p = stack.back();
        stack.pop_back();
        if (mark[p] == gen) continue;
        mark[p] = gen;
        const LabelRegex::Inst& in = prog[p];
        switch (in.op) {
            case LabelRegex::Inst::kJmp: stack.push_back(in.x); break;
            case LabelRegex::Inst::kSplit:
                stack.push_back(in.y);
                stack.push_back(in.x);
                break;
            case LabelRegex::Inst::kBol:
                if (pos == 0) stack.push_back(p + 1);
                break;
            case LabelRegex::Inst::kEol:
                if (pos == len) stack.push_back(p + 1);
                break;
            default: list.push_back(p);
        }
    }
}

bool LabelRegex::run(const std::string& s, bool whole) const {
    const size_t len = s.size();
    std::vector<uint32_t> cur, next, stack, mark(prog_.size(), 0);
    uint32_t gen = 1;
    add_thread(prog_, cur, mark, gen, stack, 0, 0, len);
    for (size_t i = 0;; ++i) {
        for (uint32_t pc : cur)
            if (prog_[pc].op == Inst::kMatch && (!whole || i == len)) return true;
        if (i == len) return false;
        ++gen;
        next.clear();
        const uint8_t c = uint8_t(s[i]);
        for (uint32_t pc : cur) {
            const Inst& in = prog_[pc];
            if ((in.op == Inst::kByte && in.byte == c) || (in.op == Inst::kSet && sets_[in.x][c]))
                add_thread(prog_, next, mark, gen, stack, pc + 1, i + 1, len);
        }
        if (!whole) add_thread(prog_, next, mark, gen, stack, 0, i + 1, len);  // a match may start here
        if (next.empty()) return false;
        std::swap(cur, next);
    }
}

bool LabelRegex::search(const std::string& s) const { return run(s, false); }
bool LabelRegex::match(const std::string& s) const { return run(s, true); }

bool LabelRegex::matches_everything() const {
    // At position 0 of any non-empty string '^' holds and '$' does not: if that alone
    // reaches the match state, search() succeeds there for every such string.
    std::vector<uint32_t> list, stack, mark(prog_.size(), 0);
    add_thread(prog_, list, mark, 1, stack, 0, 0, 1);
    for (uint32_t pc : list)
        if (prog_[pc].op == Inst::kMatch) return true;
    return false;
}

}  // namespace flowpic
