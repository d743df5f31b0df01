// Text from a config, a store or the wire as a person may see it: names that
// can go anywhere, and any bytes shown safely on a terminal.
#pragma once

#include <string>

namespace deepreduce {

// Why `name` cannot name an experiment or a trial, "" when it can: names
// reach paths (runs/NAME.db), terminals, CSV, HTML and SVG, so they are
// printable UTF-8 of at most 128 bytes, without control characters, path
// separators, or a leading dot or dash.
std::string name_problem(const std::string& name);
// `s` as a terminal should show it: control characters (ESC, BEL, CR, ...)
// and bytes that are not UTF-8 written as \xNN, everything else as is.
std::string printable(const std::string& s);

}  // namespace deepreduce
