// One mode of flowpic-bench: a subcommand with its own flags (add_to registers them on the
// app) and a body (run, after parsing).  apps/flowpic_bench.cpp keeps the list of modes.
#pragma once
#include <stdexcept>

#include "apps/cli.h"
#include "core/error.h"
#include "nn/network.h"

namespace flowpic {

class BenchMode {
public:
    virtual ~BenchMode() = default;
    virtual void add_to(CLI::App& app) = 0;
    virtual int run() = 0;
    bool selected() const { return cmd_ != nullptr && cmd_->parsed(); }

protected:
    CLI::App* cmd_ = nullptr;  // the subcommand, made by add_to
};

// The network of a mode's flags: a shape the architecture cannot take is a usage error.
inline Network make_network(const NetSpec& spec) {
    try {
        return Network(spec);
    } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
    }
}

}  // namespace flowpic
