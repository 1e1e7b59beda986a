# nodefit_library(NAME SOURCES a.cc b.cc DEPS x y): one static library per
# module, with the repository root on the include path so headers are named
# "resolver/x.h" everywhere.
function(nodefit_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
endfunction()

# nodefit_test(NAME SOURCES x_test.cc DEPS lib... [LABELS l] [TIMEOUT s]):
# one executable per *_test.cc, registered with CTest.
function(nodefit_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} nodefit_test_util
    GTest::gmock GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE
    NODEFIT_SHARED_DIR="${NODEFIT_SHARED_DIR}"
    NODEFIT_FIXTURES_DIR="${PROJECT_SOURCE_DIR}/tests/fixtures"
    NODEFIT_BINARY="$<TARGET_FILE:nodefit>")
  add_test(NAME ${name} COMMAND ${name})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  set_tests_properties(${name} PROPERTIES TIMEOUT ${ARG_TIMEOUT})
  if(ARG_LABELS)
    set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}")
  endif()
endfunction()
