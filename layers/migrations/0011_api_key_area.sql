-- API keys read like an official of an area: a key given an area (as a user is, by
-- district, subdistrict, community or grid) reads personal data in full inside it and
-- masked outside; a key with no area reads what the public reads; a key made with
-- --whole reads the whole installation. Keys never write except through Open311.
ALTER TABLE api_key ADD COLUMN whole boolean NOT NULL DEFAULT false;

CREATE TABLE api_key_area (
    api_key_id      int NOT NULL REFERENCES api_key ON DELETE CASCADE,
    district_id     int REFERENCES district,
    subdistrict_id  int REFERENCES subdistrict,
    community_id    int REFERENCES community,
    grid_id         int REFERENCES grid,
    CHECK (num_nonnulls(district_id, subdistrict_id, community_id, grid_id) = 1)
);
CREATE INDEX api_key_area_key_idx ON api_key_area (api_key_id);
