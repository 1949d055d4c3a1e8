# CERTDEPLOY_SANITIZE=ON builds everything, third-party translation units included, with ASan and UBSan,
# so that a container overflow or a use-after-free anywhere in a request's path is reported.
if(CERTDEPLOY_SANITIZE)
    add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
    add_link_options(-fsanitize=address,undefined)
endif()
