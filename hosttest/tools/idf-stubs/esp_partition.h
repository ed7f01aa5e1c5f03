/* components/esp_partition/include/esp_partition.h */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "esp_err.h"
typedef enum { ESP_PARTITION_TYPE_APP = 0x00, ESP_PARTITION_TYPE_DATA = 0x01, ESP_PARTITION_TYPE_ANY = 0xff } esp_partition_type_t;
typedef int esp_partition_subtype_t;
typedef struct {
	const void *flash_chip;
	esp_partition_type_t type;
	esp_partition_subtype_t subtype;
	uint32_t address;
	uint32_t size;
	uint32_t erase_size;
	char label[17];
	bool encrypted;
	bool readonly;
} esp_partition_t;
