@provenance@
# CMake toolchain file: arm-none-eabi-gcc for a Cortex-M4 (Thumb-2, DSP extension).
#   cmake -S <app> -B build -DCMAKE_TOOLCHAIN_FILE=<this file> [-DEC_FLOAT_ABI=hard]
# EC_FLOAT_ABI: soft (no FPU use; the engine needs none) or hard (Cortex-M4F with FPv4-SP:
# float arguments in FPU registers; every object of the application must use the same ABI).
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_CXX_COMPILER arm-none-eabi-g++)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
# No OS to run test programs on: CMake's compiler checks build a static library instead.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(EC_FLOAT_ABI "@float_abi@" CACHE STRING "Float ABI: hard (Cortex-M4F, FPv4-SP) or soft (no FPU)")
set_property(CACHE EC_FLOAT_ABI PROPERTY STRINGS soft hard)
if(EC_FLOAT_ABI STREQUAL "hard")
  set(_ec_fpu "-mfloat-abi=hard -mfpu=fpv4-sp-d16")
elseif(EC_FLOAT_ABI STREQUAL "soft")
  set(_ec_fpu "-mfloat-abi=soft")
else()
  message(FATAL_ERROR "EC_FLOAT_ABI=${EC_FLOAT_ABI}: expected soft or hard")
endif()

set(CMAKE_C_FLAGS_INIT "-mcpu=cortex-m4 -mthumb ${_ec_fpu} -ffunction-sections -fdata-sections")
set(CMAKE_CXX_FLAGS_INIT "${CMAKE_C_FLAGS_INIT}")
set(CMAKE_ASM_FLAGS_INIT "${CMAKE_C_FLAGS_INIT}")
# newlib-nano with stub system calls: links a complete ELF; your board support replaces the stubs.
set(CMAKE_EXE_LINKER_FLAGS_INIT "--specs=nano.specs --specs=nosys.specs -Wl,--gc-sections")

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
