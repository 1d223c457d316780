# Shared CMake helpers: warnings for project code and one way to register tests.

# Warnings as errors apply to project targets only, never to generated or third-party code.
function(cachewire_warnings target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Werror -Wno-error=deprecated-declarations>)
endfunction()

# cachewire_library(NAME SOURCES ... DEPS ...): a static library of the engine with warnings on.
function(cachewire_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  cachewire_warnings(${name})
endfunction()

# cachewire_test(NAME SOURCES ... DEPS ... LABELS ... [FIXTURES ...] [ARGS ...]):
# one gtest binary registered with ctest under the given labels (unit, model, gpu, e2e).
function(cachewire_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS;LABELS;FIXTURES;ARGS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main GTest::gmock)
  target_compile_definitions(${name} PRIVATE
    CACHEWIRE_SOURCE_DIR="${PROJECT_SOURCE_DIR}" CACHEWIRE_BINARY_DIR="${PROJECT_BINARY_DIR}")
  cachewire_warnings(${name})
  add_test(NAME ${name} COMMAND ${name} ${ARG_ARGS})
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT})
  if(ARG_FIXTURES)
    set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED "${ARG_FIXTURES}")
  endif()
endfunction()

# cachewire_gpu_test(NAME SOURCES ... DEPS ...): a cachewire_test labelled gpu, pointed at this
# build's CUDA plugin. Without the plugin or a device its tests skip, saying why.
function(cachewire_gpu_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  cachewire_test(${name} SOURCES ${ARG_SOURCES} DEPS ${ARG_DEPS} LABELS gpu)
  if(CACHEWIRE_CUDA)
    add_dependencies(${name} cachewire_cuda)
    target_compile_definitions(${name} PRIVATE CACHEWIRE_HAVE_CUDA_PLUGIN=1)
    set_tests_properties(${name} PROPERTIES
      ENVIRONMENT "CACHEWIRE_CUDA_PLUGIN=$<TARGET_FILE:cachewire_cuda>")
  endif()
endfunction()
