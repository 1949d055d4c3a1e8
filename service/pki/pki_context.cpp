#include "service/pki/pki_context.hpp"

namespace certdeploy::pki {

PkiContext::PkiContext(LibCtxPtr libctx, ProviderPtr default_provider, ProviderPtr legacy)
    : libctx_(std::move(libctx)), default_(std::move(default_provider)), legacy_(std::move(legacy)) {}

Result<std::shared_ptr<const PkiContext>> PkiContext::create() {
    LibCtxPtr libctx(OSSL_LIB_CTX_new());
    if (!libctx) {
        return make_error(ErrorCode::internal, "cannot create an OpenSSL library context", drain_errors());
    }
    ProviderPtr default_provider(OSSL_PROVIDER_load(libctx.get(), "default"));
    if (!default_provider) {
        return make_error(ErrorCode::internal, "cannot load OpenSSL's default provider", drain_errors());
    }
    // Without the legacy provider, modern files still read; legacy ones get unsupported-algorithm.
    ProviderPtr legacy(OSSL_PROVIDER_load(libctx.get(), "legacy"));
    drain_errors();
    return std::make_shared<const PkiContext>(std::move(libctx), std::move(default_provider), std::move(legacy));
}

ScopedDefaultContext::ScopedDefaultContext(const PkiContext& ctx) noexcept
    : previous_(OSSL_LIB_CTX_set0_default(ctx.libctx())) {}

ScopedDefaultContext::~ScopedDefaultContext() {
    OSSL_LIB_CTX_set0_default(previous_);
}

}  // namespace certdeploy::pki
