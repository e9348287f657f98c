# Every dependency comes from a Debian package (scripts/setup.sh installs them). On the GPU
# machine the header-only ones and PCRE2 are unpacked from .deb files into LMLAB_DEPS_PREFIX
# (scripts/gpu-build.sh); libtorch comes from the installed PyTorch through CMAKE_PREFIX_PATH.
set(_lmlab_inc_hints "")
set(_lmlab_lib_hints "")
if(LMLAB_DEPS_PREFIX)
  list(APPEND _lmlab_inc_hints "${LMLAB_DEPS_PREFIX}/usr/include")
  list(APPEND _lmlab_lib_hints "${LMLAB_DEPS_PREFIX}/usr/lib/x86_64-linux-gnu")
endif()

find_package(Torch REQUIRED)
message(STATUS "lmlab: libtorch ${Torch_VERSION}")
# PyTorch 2.14's headers refuse C++17 ("C++20 or later compatible compiler is required");
# 1.13 up to 2.13 accept it. Targets are created after this file, so they all get the standard.
if(Torch_VERSION VERSION_GREATER_EQUAL 2.14)
  set(CMAKE_CXX_STANDARD 20)
endif()
set(LMLAB_WITH_CUDA OFF)
if(TORCH_CUDA_LIBRARIES)
  set(LMLAB_WITH_CUDA ON)
  message(STATUS "lmlab: CUDA build")
endif()
find_package(Threads REQUIRED)

# lmlab_header_dep(<name> <header> [suffix]): an INTERFACE target lmlab_dep_<name> for a
# header-only package, with its headers marked SYSTEM so their warnings are not ours.
function(lmlab_header_dep name header)
  find_path(${name}_INCLUDE_DIR ${header} HINTS ${_lmlab_inc_hints} PATH_SUFFIXES ${ARGN})
  if(NOT ${name}_INCLUDE_DIR)
    message(FATAL_ERROR "lmlab: ${header} not found: run scripts/setup.sh (Debian) or set LMLAB_DEPS_PREFIX")
  endif()
  add_library(lmlab_dep_${name} INTERFACE)
  target_include_directories(lmlab_dep_${name} SYSTEM INTERFACE ${${name}_INCLUDE_DIR})
endfunction()

lmlab_header_dep(cli11 CLI/CLI.hpp)
lmlab_header_dep(json nlohmann/json.hpp)
lmlab_header_dep(toml toml++/toml.h)
lmlab_header_dep(eigen Eigen/Core eigen3)
lmlab_header_dep(pcre2 pcre2.h)
find_library(PCRE2_LIBRARY pcre2-8 HINTS ${_lmlab_lib_hints})
if(NOT PCRE2_LIBRARY)
  message(FATAL_ERROR "lmlab: libpcre2-8 not found: run scripts/setup.sh (Debian) or set LMLAB_DEPS_PREFIX")
endif()
target_link_libraries(lmlab_dep_pcre2 INTERFACE ${PCRE2_LIBRARY})
