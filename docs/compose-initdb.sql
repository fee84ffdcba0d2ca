-- compose.yaml: the roles gongzhi needs (run once by the postgres image on an empty volume).
-- The app role owns nothing and cannot bypass row-level security; the owner runs migrations.
CREATE ROLE gongzhi_owner LOGIN PASSWORD 'owner-password-change-me' NOSUPERUSER NOBYPASSRLS;
CREATE ROLE gongzhi_app LOGIN PASSWORD 'app-password-change-me' NOSUPERUSER NOBYPASSRLS;
CREATE DATABASE gongzhi OWNER gongzhi_owner;
