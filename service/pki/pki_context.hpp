#pragma once
// certdeploy's own OpenSSL library context: the default provider plus the legacy one, which OpenSSL 3
// needs to decrypt RC2-40 and other old PKCS #12 files. The process-wide default context is never
// touched; code that calls OpenSSL functions without a library-context parameter runs inside a
// ScopedDefaultContext, which points this thread (only) at certdeploy's context and restores it after.

#include <memory>

#include "service/error.hpp"
#include "service/pki/ossl.hpp"

namespace certdeploy::pki {

class PkiContext {
  public:
    // Loads the providers once; shared, immutable and thread-safe afterwards.
    static Result<std::shared_ptr<const PkiContext>> create();

    OSSL_LIB_CTX* libctx() const noexcept { return libctx_.get(); }
    bool has_legacy() const noexcept { return legacy_ != nullptr; }

    PkiContext(LibCtxPtr libctx, ProviderPtr default_provider, ProviderPtr legacy);

  private:
    LibCtxPtr libctx_;
    ProviderPtr default_;  // unloaded before the context is freed: members destroy in reverse order
    ProviderPtr legacy_;
};

// While alive, OpenSSL calls on this thread that take no library context use `ctx`'s.
class ScopedDefaultContext {
  public:
    explicit ScopedDefaultContext(const PkiContext& ctx) noexcept;
    ~ScopedDefaultContext();
    ScopedDefaultContext(const ScopedDefaultContext&) = delete;
    ScopedDefaultContext& operator=(const ScopedDefaultContext&) = delete;

  private:
    OSSL_LIB_CTX* previous_;
};

}  // namespace certdeploy::pki
