# NODEFIT_GIT_COMMIT: the commit the source tree is at (12 hex digits, with
# "-dirty" when tracked files differ), or "unknown" outside a git checkout
# (a source tarball). Set -DNODEFIT_GIT_COMMIT=... to override, e.g. when
# packaging from an export. CMake re-runs when HEAD or the branch moves.
if(NOT NODEFIT_GIT_COMMIT)
  set(NODEFIT_GIT_COMMIT unknown)
  find_program(NODEFIT_GIT git)
  if(NODEFIT_GIT AND EXISTS "${PROJECT_SOURCE_DIR}/.git")
    execute_process(
      COMMAND ${NODEFIT_GIT} -C ${PROJECT_SOURCE_DIR} rev-parse --short=12 HEAD
      OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE
      RESULT_VARIABLE failed ERROR_QUIET)
    if(NOT failed AND commit)
      execute_process(
        COMMAND ${NODEFIT_GIT} -C ${PROJECT_SOURCE_DIR} diff --quiet HEAD --
        RESULT_VARIABLE dirty ERROR_QUIET)
      set(NODEFIT_GIT_COMMIT ${commit})
      if(dirty)
        string(APPEND NODEFIT_GIT_COMMIT -dirty)
      endif()
    endif()
    execute_process(
      COMMAND ${NODEFIT_GIT} -C ${PROJECT_SOURCE_DIR} rev-parse --git-dir
      OUTPUT_VARIABLE git_dir OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    execute_process(
      COMMAND ${NODEFIT_GIT} -C ${PROJECT_SOURCE_DIR} symbolic-ref -q HEAD
      OUTPUT_VARIABLE head_ref OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    if(git_dir)
      if(NOT IS_ABSOLUTE "${git_dir}")
        set(git_dir "${PROJECT_SOURCE_DIR}/${git_dir}")
      endif()
      set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
        "${git_dir}/HEAD")
      if(head_ref AND EXISTS "${git_dir}/${head_ref}")
        set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
          "${git_dir}/${head_ref}")
      endif()
    endif()
  endif()
endif()
message(STATUS "nodefit ${PROJECT_VERSION}, commit ${NODEFIT_GIT_COMMIT}")
