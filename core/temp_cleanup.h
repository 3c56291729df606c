// Temp files that vanish when the process is interrupted.  AtomicFile registers its temp
// file here; the first registration installs handlers for SIGINT, SIGTERM, SIGHUP and
// SIGPIPE (only where the signal still has its default action) that unlink every
// registered file and then die of the same signal, so the shell sees the usual status.
// kill -9 cannot be caught: stale_temp_cleanup() removes what such a run left behind.
#pragma once
#include <string>

namespace flowpic {

// `path` must stay valid until unregister_temp(path).  At most 256 files at once are
// tracked; beyond that a file is simply not cleaned up on a signal.
void register_temp(const char* path);
void unregister_temp(const char* path);

// The temp-file name for an output: ".NAME.flowpic-tmp.PID.XXXXXX" beside it (a
// template for mkstemp).  The PID lets a later run tell a dead run's leftovers apart.
std::string temp_template_for(const std::string& path);

// Removes the temp files of `path` (same directory and name) whose process is gone.
void stale_temp_cleanup(const std::string& path);

}  // namespace flowpic
