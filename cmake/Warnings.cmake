# certdeploy_warnings: the warning set every project target compiles with.
add_library(certdeploy_warnings INTERFACE)
target_compile_options(certdeploy_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
                                                     -Wno-sign-conversion)
if(CERTDEPLOY_WERROR)
    target_compile_options(certdeploy_warnings INTERFACE -Werror)
endif()
