# nodefit_library(NAME SOURCES a.cc b.cc DEPS x y): one static library per
# module, with the repository root on the include path so headers are named
# "resolver/x.h" everywhere.
function(nodefit_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  if(NODEFIT_CLANG_TIDY_EXE AND CMAKE_CURRENT_SOURCE_DIR MATCHES
     "^${PROJECT_SOURCE_DIR}/(resolver|plugin)(/|$)")
    set_target_properties(${name} PROPERTIES
      CXX_CLANG_TIDY "${NODEFIT_CLANG_TIDY_EXE}")
  endif()
endfunction()

# nodefit_test(NAME SOURCES x_test.cc DEPS lib... [LABELS l] [TIMEOUT s]
#              [NO_CTEST]): one executable per *_test.cc, registered with
# CTest (unless NO_CTEST: the caller registers it, e.g. once per peer).
function(nodefit_test name)
  cmake_parse_arguments(ARG "NO_CTEST" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} nodefit_test_util
    GTest::gmock GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE
    NODEFIT_SHARED_DIR="${NODEFIT_SHARED_DIR}"
    NODEFIT_FIXTURES_DIR="${PROJECT_SOURCE_DIR}/tests/fixtures"
    NODEFIT_BINARY="$<TARGET_FILE:nodefit>")
  if(ARG_NO_CTEST)
    return()
  endif()
  add_test(NAME ${name} COMMAND ${name})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  set_tests_properties(${name} PROPERTIES TIMEOUT ${ARG_TIMEOUT})
  if(ARG_LABELS)
    set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}")
  endif()
endfunction()

# nodefit_proto_library(NAME ROOT dir PROTOS a.proto ... [DEPS lib...]):
# C++ messages and gRPC stubs for .proto files named relative to ROOT.
function(nodefit_proto_library name)
  cmake_parse_arguments(ARG "" "ROOT" "PROTOS;DEPS" ${ARGN})
  set(out_root ${CMAKE_CURRENT_BINARY_DIR}/${name})
  set(generated)
  foreach(proto ${ARG_PROTOS})
    get_filename_component(dir ${proto} DIRECTORY)
    get_filename_component(base ${proto} NAME_WE)
    if(dir)
      set(out ${out_root}/${dir}/${base})
    else()
      set(out ${out_root}/${base})
    endif()
    list(APPEND generated ${out}.pb.cc ${out}.grpc.pb.cc)
    add_custom_command(
      OUTPUT ${out}.pb.cc ${out}.pb.h ${out}.grpc.pb.cc ${out}.grpc.pb.h
      COMMAND ${CMAKE_COMMAND} -E make_directory ${out_root}
      COMMAND protobuf::protoc
        -I${ARG_ROOT} -I${PROJECT_SOURCE_DIR}/proto -I/usr/include
        --cpp_out=${out_root} --grpc_out=${out_root}
        --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>
        ${proto}
      WORKING_DIRECTORY ${ARG_ROOT}
      DEPENDS ${ARG_ROOT}/${proto}
      COMMENT "protoc ${proto}")
  endforeach()
  add_library(${name} STATIC ${generated})
  target_include_directories(${name} PUBLIC ${out_root})
  target_link_libraries(${name} PUBLIC gRPC::grpc++ protobuf::libprotobuf
                                       ${ARG_DEPS})
  # Generated code is not ours to lint or to hold to -Werror.
  set_target_properties(${name} PROPERTIES CXX_CLANG_TIDY "")
  target_compile_options(${name} PRIVATE -w)
endfunction()
