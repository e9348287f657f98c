# LMLAB_SANITIZE=ON (scripts/fuzz-sanitized.sh): a build of nothing but the readers' fuzz targets
# (tests/fuzz/test_fuzz_readers.cpp: tokenizer.json and the safetensors header) and the
# torch-free sources they need, under g++'s AddressSanitizer and UndefinedBehaviorSanitizer,
# every UB report fatal. No libtorch (find_package(Torch) is never called), so it builds in a
# few minutes on 2 cores in its own directory beside the normal build; a second full
# sanitized build of lmlab is not affordable in CI. ctest label `fuzz-asan`.
find_package(GTest REQUIRED)
find_package(ZLIB REQUIRED)
find_package(Threads REQUIRED)
include(GoogleTest)
find_path(LMLAB_JSON_INCLUDE nlohmann/json.hpp)
find_path(LMLAB_PCRE2_INCLUDE pcre2.h)
find_library(LMLAB_PCRE2_LIBRARY pcre2-8)
if(NOT LMLAB_JSON_INCLUDE OR NOT LMLAB_PCRE2_INCLUDE OR NOT LMLAB_PCRE2_LIBRARY)
  message(FATAL_ERROR "lmlab: nlohmann/json.hpp or libpcre2-8 not found: run scripts/setup.sh")
endif()

# -O1 -g1 (after the build type's flags, so they win): file:line in every report, and half the
# compile time of -O2 -g at the same fuzzing rate; asserts stay on.
set(LMLAB_SANITIZE_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
    -O1 -g1 -UNDEBUG)
set(src "${PROJECT_SOURCE_DIR}/src/lmlab")
file(GLOB tokenizer_sources CONFIGURE_DEPENDS "${src}/tokenizer/*.cpp")
add_library(lmlab_readers_sanitized STATIC
  ${tokenizer_sources} "${src}/model/safetensors_header.cpp"
  "${src}/common/error.cpp" "${src}/common/files.cpp" "${src}/common/json_text.cpp" "${src}/common/progress.cpp")
target_include_directories(lmlab_readers_sanitized PUBLIC "${PROJECT_SOURCE_DIR}/src")
target_include_directories(lmlab_readers_sanitized SYSTEM PUBLIC ${LMLAB_JSON_INCLUDE} ${LMLAB_PCRE2_INCLUDE})
target_link_libraries(lmlab_readers_sanitized PUBLIC ${LMLAB_PCRE2_LIBRARY} ZLIB::ZLIB Threads::Threads)
target_compile_definitions(lmlab_readers_sanitized PRIVATE LMLAB_SOURCE_DIR="${PROJECT_SOURCE_DIR}")

add_executable(fuzz_readers_sanitized "${PROJECT_SOURCE_DIR}/tests/fuzz/test_fuzz_readers.cpp")
target_include_directories(fuzz_readers_sanitized PRIVATE "${PROJECT_SOURCE_DIR}/tests")
target_link_libraries(fuzz_readers_sanitized PRIVATE lmlab_readers_sanitized GTest::gtest_main)
foreach(target lmlab_readers_sanitized fuzz_readers_sanitized)
  target_compile_options(${target} PRIVATE ${LMLAB_SANITIZE_FLAGS} -Wall -Wextra -Werror)
  target_link_options(${target} PRIVATE -fsanitize=address,undefined)
endforeach()

enable_testing()
# halt_on_error: the first report ends the run (with its stack) and fails the test.
gtest_discover_tests(fuzz_readers_sanitized DISCOVERY_MODE PRE_TEST WORKING_DIRECTORY "${PROJECT_BINARY_DIR}"
  PROPERTIES LABELS fuzz-asan
  ENVIRONMENT "ASAN_OPTIONS=halt_on_error=1:detect_leaks=1;UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1")
