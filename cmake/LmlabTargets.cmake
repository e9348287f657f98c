# Helpers that give every lmlab target the same include root, warnings and (for libtorch
# code) precompiled header, so module CMakeLists stay three lines long.

set(LMLAB_SRC_ROOT "${PROJECT_SOURCE_DIR}/src")

function(lmlab_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
  if(LMLAB_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# The libtorch headers cost ~20 s per translation unit on these machines; one precompiled
# header, built once and shared by every libtorch target, cuts that to a few seconds.
add_library(lmlab_torch_pch OBJECT "${PROJECT_SOURCE_DIR}/cmake/torch_pch.cpp")
target_link_libraries(lmlab_torch_pch PUBLIC ${TORCH_LIBRARIES})
target_compile_options(lmlab_torch_pch PRIVATE -Wall -Wextra)
if(LMLAB_WERROR)
  target_compile_options(lmlab_torch_pch PRIVATE -Werror)
endif()
target_precompile_headers(lmlab_torch_pch PRIVATE <torch/torch.h>)

# lmlab_library(<name> SOURCES ... [DEPS ...] [TORCH]): static library lmlab_<name>.
function(lmlab_library name)
  cmake_parse_arguments(L "TORCH" "" "SOURCES;DEPS" ${ARGN})
  add_library(lmlab_${name} STATIC ${L_SOURCES})
  target_include_directories(lmlab_${name} PUBLIC ${LMLAB_SRC_ROOT})
  target_link_libraries(lmlab_${name} PUBLIC ${L_DEPS} Threads::Threads)
  lmlab_warnings(lmlab_${name})
  if(L_TORCH)
    lmlab_use_torch(lmlab_${name})
    lmlab_unity_batches(lmlab_${name})
    set_target_properties(lmlab_${name} PROPERTIES LMLAB_TORCH ON)
  endif()
endfunction()

# Even with the precompiled header, every libtorch translation unit spends ~4 s loading it (an
# empty file: 4.2 s with it, 14.8 s without), the largest part of a fresh build on 2 cores; a
# batch of 8 sources per unit pays it once (the test executables too: their 96 files took 60%
# of a fresh build one by one). Sources of one target must therefore not reuse a name at
# namespace scope, anonymous namespaces included; shared test helpers go in a header.
function(lmlab_unity_batches target)
  if(LMLAB_UNITY_BUILD)
    set_target_properties(${target} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 8)
  endif()
endfunction()

# Link a target against libtorch and reuse the shared precompiled header.
function(lmlab_use_torch target)
  target_link_libraries(${target} PUBLIC ${TORCH_LIBRARIES})
  target_precompile_headers(${target} REUSE_FROM lmlab_torch_pch)
  if(LMLAB_WITH_CUDA)
    target_compile_definitions(${target} PUBLIC LMLAB_WITH_CUDA=1)
  endif()
endfunction()
