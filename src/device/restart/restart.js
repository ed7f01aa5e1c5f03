/* Restarts the ESP32 (modRestart.c). */
export default function restart() @ "xs_device_restart";
