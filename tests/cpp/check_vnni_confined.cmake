# check_vnni_confined.cmake - a test run by ctest (tests/cpp/CMakeLists.txt):
# no engine object but those of *_avx512vnni.cpp files holds an AVX-512 VNNI
# instruction (vpdpbusd[s], vpdpwssd[s]). Every other AVX-512 file also runs
# on CPUs without VNNI (Skylake-SP), where such an instruction is SIGILL.
#   cmake -DOBJDUMP=/usr/bin/objdump -DOBJECTS="a.o|b.o|..." -P check_vnni_confined.cmake
# The VNNI files must hold some: that shows the disassembly is read at all.
string(REPLACE "|" ";" objects "${OBJECTS}")
set(vnni_objects 0)
set(checked 0)
foreach(object IN LISTS objects)
  execute_process(COMMAND "${OBJDUMP}" -d --no-show-raw-insn "${object}"
                  OUTPUT_VARIABLE listing ERROR_VARIABLE error RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "objdump failed on ${object}: ${error}")
  endif()
  string(REGEX MATCH "vpdp(bus|ws)ds?[^\n]*" vnni "${listing}")
  if(object MATCHES "_avx512vnni\\.cpp\\.o(bj)?$")
    if(NOT vnni)
      message(FATAL_ERROR "${object} holds no VNNI instruction: is objdump's output read right?")
    endif()
    math(EXPR vnni_objects "${vnni_objects} + 1")
  elseif(vnni)
    message(FATAL_ERROR "${object} holds a VNNI instruction (${vnni}) but is not an *_avx512vnni.cpp file")
  endif()
  math(EXPR checked "${checked} + 1")
endforeach()
if(vnni_objects EQUAL 0)
  message(FATAL_ERROR "no *_avx512vnni.cpp object among the ${checked} objects given")
endif()
message(STATUS "VNNI only in the ${vnni_objects} *_avx512vnni.cpp objects (of ${checked})")
