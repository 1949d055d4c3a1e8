#include "service/secret.hpp"

#include <openssl/crypto.h>

namespace certdeploy {

Secret::Secret() : value_(std::make_unique<std::string>()) {}

Secret::Secret(std::string_view value) : value_(std::make_unique<std::string>()) {
    assign(value);
}

Secret::~Secret() {
    wipe();
}

Secret& Secret::operator=(Secret&& other) noexcept {
    if (this != &other) {
        wipe();  // the bytes being replaced are wiped before they are freed
        value_ = std::move(other.value_);
    }
    return *this;
}

void Secret::assign(std::string_view value) {
    wipe();
    value_ = std::make_unique<std::string>();
    value_->reserve(value.size() + 1);  // one allocation: no stale copies left by a growing buffer
    value_->append(value);
}

void Secret::wipe() noexcept {
    if (value_) {
        certdeploy::wipe(*value_);
    }
}

void wipe(std::string& text) noexcept {
    if (text.capacity() > 0) {
        OPENSSL_cleanse(text.data(), text.capacity());
    }
    text.clear();
}

}  // namespace certdeploy
