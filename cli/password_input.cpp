#include "cli/password_input.hpp"

#include <iostream>
#include <iterator>

#include "service/fs/atomic_file.hpp"

namespace certdeploy::cli {

Secret first_line_secret(std::string text) {
    const auto end = text.find_first_of("\r\n");
    Secret secret(std::string_view(text).substr(0, end));
    wipe(text);
    return secret;
}

Result<Secret> password_from_file(const std::string& path) {
    auto text = fs::read_file(path, 64 * 1024);
    if (!text) {
        return text.error();
    }
    return first_line_secret(std::move(*text));
}

Secret password_from_stdin() {
    std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    return first_line_secret(std::move(text));
}

}  // namespace certdeploy::cli
