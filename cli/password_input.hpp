#pragma once
// Reading a password the way every command does: from the first line of a file or of standard input,
// never from the command line (it would land in shell history and process listings).

#include <string>

#include "service/error.hpp"
#include "service/secret.hpp"

namespace certdeploy::cli {

// The first line of `text`, without its line end; `text` is wiped.
Secret first_line_secret(std::string text);

// The first line of the file at `path` (at most 64 KiB).
Result<Secret> password_from_file(const std::string& path);

// The first line of standard input.
Secret password_from_stdin();

}  // namespace certdeploy::cli
